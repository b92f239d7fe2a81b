// Package v1alpha1 contains the inlet.dev/v1alpha1 API: Source, SourceEnvironment and
// EventMapping, the three resources that describe where events come from, how they are
// verified, and which actions they turn into.
//
// +kubebuilder:object:generate=true
// +groupName=inlet.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of the inlet API.
	GroupVersion = schema.GroupVersion{Group: "inlet.dev", Version: "v1alpha1"}

	// SchemeBuilder adds the inlet types to a scheme. It is apimachinery's builder, so
	// that importing the API pulls in no controller-runtime.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the inlet types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// addKnownTypes registers every kind of the API, with its list, and the meta types of
// the group version.
func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Source{}, &SourceList{},
		&SourceEnvironment{}, &SourceEnvironmentList{},
		&EventMapping{}, &EventMappingList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
