package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Defaults the operator and the ingress apply when a field is left unset.
const (
	// DefaultIdempotencyWindow is how long a key is remembered when spec.idempotency
	// sets no window, as Knock does.
	DefaultIdempotencyWindow = "24h"
	// DefaultActionStream is the JetStream stream actions are published to.
	DefaultActionStream = "INLET_ACTIONS"
	// DefaultLogStream is the JetStream stream event and action logs are written to.
	DefaultLogStream = "INLET_LOGS"
	// DefaultLogRetention is how long event and action logs are kept.
	DefaultLogRetention = "168h"
	// DefaultMaxBodySize is the largest request body the ingress accepts.
	DefaultMaxBodySize = "1Mi"
)

// SourceEnvironmentSpec wires a Source to one environment.
type SourceEnvironmentSpec struct {
	// sourceRef names the Source, in the same namespace, whose events this environment
	// receives.
	// +required
	SourceRef LocalObjectReference `json:"sourceRef,omitzero"`

	// environment is the notification environment the events belong to, such as
	// development or production. It is part of the subjects actions are published on
	// (inlet.actions.<environment>.<action>).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Environment string `json:"environment,omitempty"`

	// signingSecretRefs are the Secrets holding the provider's signing secret, or the
	// token a header must carry for sources that sign nothing. Every one is tried, so
	// list the old and new secret together while rotating. Required for stripe, clerk
	// and workos sources and for http sources whose verification uses a secret.
	// +optional
	// +kubebuilder:validation:MaxItems=4
	// +listType=atomic
	SigningSecretRefs []SecretKeyReference `json:"signingSecretRefs,omitempty"`

	// variables are made available to CEL expressions as vars.<name>; a variable may
	// come from a Secret. Never log or publish a secret variable.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=name
	Variables []Variable `json:"variables,omitempty"`

	// idempotency controls de-duplication of repeated deliveries of one event.
	// +optional
	Idempotency IdempotencySpec `json:"idempotency,omitzero"`

	// identifyUsers turns identify calls from CDP sources (Segment, RudderStack, Jitsu,
	// Freshpaint, PostHog $identify) into identifyUser actions without a mapping, with
	// name, email, avatar and phone mapped and the other traits kept as properties.
	// Defaults to false.
	// +optional
	IdentifyUsers bool `json:"identifyUsers,omitempty"`

	// ingress configures the pods that receive this environment's events.
	// +optional
	Ingress IngressSpec `json:"ingress,omitzero"`

	// publish says where actions and logs go. Unset fields take the operator's defaults.
	// +optional
	Publish PublishSpec `json:"publish,omitzero"`
}

// Variable is a named value for CEL expressions, given inline or read from a Secret.
// +kubebuilder:validation:XValidation:rule="has(self.value) != has(self.secretKeyRef)",message="set exactly one of value and secretKeyRef"
type Variable struct {
	// name is how expressions refer to the variable: vars.<name>.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	Name string `json:"name,omitempty"`

	// value is the variable's value.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Value *string `json:"value,omitempty"`

	// secretKeyRef reads the value from a Secret in the same namespace.
	// +optional
	SecretKeyRef *SecretKeyReference `json:"secretKeyRef,omitempty"`
}

// IdempotencySpec controls de-duplication. A repeated delivery of an event with the same
// idempotency key within the window publishes no new actions.
type IdempotencySpec struct {
	// enabled turns de-duplication on. Defaults to true.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// window is how long a key is remembered: the JetStream duplicate window. It costs
	// NATS memory for every key held (one per event stored within the window, about 250
	// MiB per million keys on each server with a replica; status.idempotencyKeysHeld
	// shows how many). Between 1m and 168h (7 days); defaults to 24h.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('168h')",message="window must be between 1m and 168h"
	Window *Duration `json:"window,omitempty"`
}

// IngressSpec configures the ingress pods.
type IngressSpec struct {
	// replicas is the number of ingress pods. When unset, the operator starts two and
	// then leaves the count to whoever scales the Deployment (an autoscaler).
	//
	// With more than one replica the operator keeps a PodDisruptionBudget that lets
	// one pod at a time be evicted (maxUnavailable 1), and rolling updates start a new
	// pod before stopping an old one (maxSurge 1, maxUnavailable 0), so that deleting
	// a pod, draining a node or changing the image goes unnoticed by senders. A pod is
	// ready within about a second of being able to serve (readiness probe every
	// second), and a stopping pod keeps answering for 5s while it leaves the Service's
	// endpoints, then finishes the requests in flight for up to 10s, within a 20s
	// termination grace period. With one replica, deleting its pod refuses events
	// until the new pod is ready; senders retry.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Replicas *int32 `json:"replicas,omitempty"`

	// resources are the ingress container's requests and limits. Defaults to requests of
	// 50m CPU and 64Mi memory and a 256Mi memory limit.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// maxBodySize is the largest request body accepted; larger ones get 413. At most
	// 16Mi, as the ingress holds a body in memory while it verifies and maps it; defaults
	// to 1Mi.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).compareTo(quantity('16Mi')) <= 0",message="maxBodySize must be at most 16Mi"
	MaxBodySize *resource.Quantity `json:"maxBodySize,omitempty"`

	// rateLimit bounds the requests each ingress pod accepts for this
	// SourceEnvironment; past it, requests are answered 429 with Retry-After, which
	// senders treat as "retry later", so nothing is lost. It counts every request to the
	// endpoint, authentic or not, so a flood cannot take more than its share of the
	// pods. With several replicas the total is the per-pod limit times the replicas.
	// When unset there is no request limit: only the operator of the sender knows its
	// peak rate (a provider replaying a backlog sends thousands a second), and refusing
	// it by default would delay every event. The bounds that protect the ingress itself
	// hold without it: a body limit, metric labels only for configured resources, and
	// refused requests logged within a small budget.
	// +optional
	RateLimit *RateLimitSpec `json:"rateLimit,omitempty"`
}

// RateLimitSpec is a token bucket: requestsPerSecond sustained, burst at once.
type RateLimitSpec struct {
	// requestsPerSecond is the sustained rate of requests accepted per ingress pod.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000000
	RequestsPerSecond int32 `json:"requestsPerSecond,omitempty"`

	// burst is how many requests are accepted at once, above the sustained rate, after
	// a quiet period. Defaults to twice requestsPerSecond.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000000
	Burst *int32 `json:"burst,omitempty"`
}

// PublishSpec says where actions and logs are published.
type PublishSpec struct {
	// natsURL is the NATS server to publish to, such as nats://nats.nats:4222. Defaults
	// to NATS_URL of the operator's ConfigMap (inlet-config in the operator's
	// namespace), or the operator's --nats-url when that ConfigMap sets none.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^(nats|tls|ws|wss)://`
	NATSURL string `json:"natsURL,omitempty"`

	// credentialsSecretRef names a Secret key holding a NATS credentials file (.creds),
	// mounted into the ingress pods and used by the operator for this environment's
	// streams. Unset, the ingress connects without credentials.
	// +optional
	CredentialsSecretRef *SecretKeyReference `json:"credentialsSecretRef,omitempty"`

	// actionStream is the JetStream stream actions are published to. Defaults to
	// INLET_ACTIONS.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_-]+$`
	ActionStream string `json:"actionStream,omitempty"`

	// logStream is the JetStream stream event and action logs are written to. Defaults
	// to INLET_LOGS.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_-]+$`
	LogStream string `json:"logStream,omitempty"`

	// logRetention is how long event and action logs are kept. At most 8760h (a
	// year); defaults to 168h.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('8760h')",message="logRetention must be at most 8760h"
	LogRetention *Duration `json:"logRetention,omitempty"`

	// logMaxBytes bounds the log stream's size: past it the oldest records are
	// discarded, so that logs never take the storage the actions need. Defaults to
	// the operator's --log-stream-max-bytes (1Gi).
	// +optional
	LogMaxBytes *resource.Quantity `json:"logMaxBytes,omitempty"`

	// actionStreamSettings are the replicas, storage and placement of the action
	// stream. Unset fields take the operator's defaults (--stream-replicas,
	// --stream-storage, --stream-placement-cluster, --stream-placement-tags).
	// +optional
	ActionStreamSettings StreamSettings `json:"actionStreamSettings,omitzero"`

	// logStreamSettings are the replicas, storage and placement of the log stream,
	// with the same defaults as actionStreamSettings.
	// +optional
	LogStreamSettings StreamSettings `json:"logStreamSettings,omitzero"`

	// partitions splits the actions over this many streams, <actionStream>_P0 to
	// <actionStream>_P<partitions-1>, so that the idempotency window's ids (the memory
	// a NATS server spends on them) are spread over the servers of a NATS cluster
	// instead of being held by the replicas of one stream. An event goes to partition
	// fnv1a64(its de-duplication id) mod partitions, so all the actions of one event,
	// and every delivery of the same event, land in the same stream, in order; actions
	// are published on inlet.actions.<environment>.<action>.<partition>. With 1, the
	// default (the operator's --action-partitions), actions go to the one stream
	// <actionStream> on inlet.actions.<environment>.<action>. Changing the count moves
	// events to other partitions: a delivery repeated across the change is not
	// recognised as a duplicate. Between 1 and 64.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=64
	Partitions *int32 `json:"partitions,omitempty"`
}

// SourceEnvironmentStatus is the observed state of a SourceEnvironment.
type SourceEnvironmentStatus struct {
	// conditions say whether events are received and published (Ready) and which
	// part is not working when they are not.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the generation of the spec this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// endpoint is the URL senders post events to. For sources that sign nothing it ends
	// in a token path segment, shown here as {token}; the token is in
	// endpointTokenSecretRef.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Endpoint string `json:"endpoint,omitempty"`

	// endpointTokenSecretRef names the Secret holding the unguessable endpoint token
	// for sources that sign nothing. Delete the Secret to rotate the token.
	// +optional
	EndpointTokenSecretRef *SecretKeyReference `json:"endpointTokenSecretRef,omitempty"`

	// readyReplicas is the number of ingress pods ready to receive events.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// mappings is the number of EventMappings compiled and live for this environment.
	// +optional
	Mappings int32 `json:"mappings,omitempty"`

	// eventsReceived counts the events accepted since the SourceEnvironment was
	// created, by all its ingress pods, including those since replaced: it never goes
	// backwards when pods are rolled, deleted or scaled.
	// +optional
	EventsReceived int64 `json:"eventsReceived,omitempty"`

	// actionsPublished counts the actions published since the SourceEnvironment was
	// created, as eventsReceived counts events.
	// +optional
	ActionsPublished int64 `json:"actionsPublished,omitempty"`

	// lastEventTime is when the last event was accepted.
	// +optional
	LastEventTime *metav1.Time `json:"lastEventTime,omitempty"`

	// idempotencyKeysHeld is the number of idempotency keys the action stream's
	// duplicate window holds: one per event whose actions the stream stored within that
	// window, remembered until the window has passed. SourceEnvironments that
	// publish to the same stream share it and report the same number. Zero when
	// idempotency is off.
	// +optional
	IdempotencyKeysHeld int64 `json:"idempotencyKeysHeld,omitempty"`
}

// SourceEnvironment wires a Source to one environment: its signing secrets, idempotency,
// ingress pods and where actions are published. The operator runs an ingress for it and
// reports the endpoint to send events to.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=srcenv;senv,categories=inlet
// +kubebuilder:printcolumn:name="Source",type=string,JSONPath=`.spec.sourceRef.name`
// +kubebuilder:printcolumn:name="Environment",type=string,JSONPath=`.spec.environment`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.status.endpoint`
// +kubebuilder:printcolumn:name="Mappings",type=integer,JSONPath=`.status.mappings`
// +kubebuilder:printcolumn:name="Events",type=integer,JSONPath=`.status.eventsReceived`
// +kubebuilder:printcolumn:name="Actions",type=integer,JSONPath=`.status.actionsPublished`
// +kubebuilder:printcolumn:name="Last Event",type=date,JSONPath=`.status.lastEventTime`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SourceEnvironment struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec wires the Source to its environment.
	// +required
	Spec SourceEnvironmentSpec `json:"spec,omitzero"`

	// status is what the operator and the ingress observed.
	// +optional
	Status SourceEnvironmentStatus `json:"status,omitzero"`
}

// SourceEnvironmentList is a list of SourceEnvironments.
// +kubebuilder:object:root=true
type SourceEnvironmentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []SourceEnvironment `json:"items"`
}
