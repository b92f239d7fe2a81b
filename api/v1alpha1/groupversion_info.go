// Package v1alpha1 contains the inlet.dev/v1alpha1 API: Source, SourceEnvironment and
// EventMapping, the three resources that describe where events come from, how they are
// verified, and which actions they turn into.
//
// +kubebuilder:object:generate=true
// +groupName=inlet.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the inlet API.
	GroupVersion = schema.GroupVersion{Group: "inlet.dev", Version: "v1alpha1"}

	// SchemeBuilder adds the inlet types to a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the inlet types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
