package v1alpha1

// StreamStorage is where the NATS servers keep a stream's messages.
// +kubebuilder:validation:Enum=File;Memory
type StreamStorage string

// The storage types of a stream.
const (
	// StreamStorageFile keeps the messages on disk: they survive a restart of the
	// servers.
	StreamStorageFile StreamStorage = "File"
	// StreamStorageMemory keeps the messages in memory only: faster, but a stream
	// whose servers all restart at once loses them.
	StreamStorageMemory StreamStorage = "Memory"
)

// StreamSettings are the JetStream settings of one stream that are the user's to
// choose. Unset fields take the operator's defaults. SourceEnvironments that publish
// to the same stream on the same NATS share it: the highest replicas among them
// applies, and storage and placement come from the first of them (by namespace, then
// name) that sets them.
type StreamSettings struct {
	// replicas is the number of servers of the NATS cluster that hold a copy of the
	// stream: 3 keeps every acknowledged action stored while one server is down.
	// Between 1 and 5; defaults to the operator's --stream-replicas (1). The operator
	// raises a stream's replicas to this number but never lowers them: a stream it
	// finds with more replicas keeps them.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=5
	Replicas *int32 `json:"replicas,omitempty"`

	// storage is where the servers keep the stream: File (on disk, the default) or
	// Memory. It applies when the operator creates the stream; JetStream cannot change
	// the storage of an existing stream, so a stream found with another storage is
	// left as it is and StreamsReady says so (delete the stream to recreate it).
	// Unset, a stream found keeps its storage.
	// +optional
	Storage StreamStorage `json:"storage,omitempty"`

	// placement says which servers hold the stream: a cluster, server tags, or
	// both. Changing it moves the stream. Unset, the operator's default placement
	// applies, or none: a stream found keeps its placement.
	// +optional
	Placement *StreamPlacement `json:"placement,omitempty"`
}

// StreamPlacement selects the NATS servers that hold a stream.
// +kubebuilder:validation:XValidation:rule="has(self.cluster) || has(self.tags)",message="set cluster, tags or both"
type StreamPlacement struct {
	// cluster is the name of the NATS cluster (in a super-cluster) to place the
	// stream in.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Cluster string `json:"cluster,omitempty"`

	// tags are server tags (server_tags in the NATS configuration) that every server
	// holding the stream must have, such as az:eu-west-1a or ssd.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	Tags []string `json:"tags,omitempty"`
}
