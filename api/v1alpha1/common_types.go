package v1alpha1

// LocalObjectReference names another inlet resource in the same namespace.
type LocalObjectReference struct {
	// name of the referenced resource in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// SecretKeyReference selects one key of a Secret in the same namespace.
type SecretKeyReference struct {
	// name of the Secret in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

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
