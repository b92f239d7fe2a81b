package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LocalObjectReference names another inlet resource in the same namespace.
type LocalObjectReference struct {
	// name of the referenced resource in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`
}

// SecretKeyReference selects one key of a Secret in the same namespace.
type SecretKeyReference struct {
	// name of the Secret in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`

	// key within the Secret's data. Defaults to "secret".
	// +optional
	// +kubebuilder:default:=secret
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// Expression is a CEL expression evaluated for every event. It sees the variables
// body (the parsed payload), headers (lower-case names), rawBody (bytes), preprocess
// (what the source's preprocess step returned), vars (the SourceEnvironment's
// variables) and event (the normalised event: type, user_id, data, event). A Knock
// path such as body.data.object.customer is a valid expression as written.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=4096
type Expression string

// Duration is a length of time written as Go writes one: a sequence of decimal numbers,
// each with a unit (ns, us, µs, ms, s, m, h), such as 300ms, 90s or 1h30m. Each field
// of this type states its own bounds. It is metav1.Duration, with the schema written once.
// +kubebuilder:validation:Type=string
// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
// +kubebuilder:validation:MaxLength=64
type Duration metav1.Duration

// MarshalJSON writes the duration as a string, as metav1.Duration does.
func (d Duration) MarshalJSON() ([]byte, error) { return metav1.Duration(d).MarshalJSON() }

// UnmarshalJSON reads a duration string, as metav1.Duration does.
func (d *Duration) UnmarshalJSON(b []byte) error { return (*metav1.Duration)(d).UnmarshalJSON(b) }

// String is the duration as it is written.
func (d Duration) String() string { return d.Duration.String() }
