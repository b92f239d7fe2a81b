package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// SourceEvent is one event a SourceEnvironment received, or one request it refused, as
// the event log stream holds it: what it was, whether it was verified, and what became
// of each action it produced. Its name is the event id, its namespace the
// SourceEnvironment's, its creationTimestamp the time it was received and its
// resourceVersion its sequence in the log stream. Read-only; it lives as long as the
// log stream keeps the record (the stream's retention).
//
// +kubebuilder:object:root=true
type SourceEvent struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the event's: name (the event id), namespace, creationTimestamp (when
	// it was received), resourceVersion (its log stream sequence) and labels.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// sourceEnvironment is the SourceEnvironment that received the event.
	// +optional
	SourceEnvironment string `json:"sourceEnvironment,omitempty"`
	// source is the Source of the SourceEnvironment.
	// +optional
	Source string `json:"source,omitempty"`
	// sourceType is the Source's type: stripe, clerk, http, ...
	// +optional
	SourceType string `json:"sourceType,omitempty"`
	// environment is the SourceEnvironment's environment: production, ...
	// +optional
	Environment string `json:"environment,omitempty"`
	// type is the event type, empty for a refused request.
	// +optional
	Type string `json:"type,omitempty"`
	// idempotencyKey is the sender's key for the event, when it has one.
	// +optional
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	// keyDropped says the sender's key was not a valid idempotency key and the event
	// was processed without one.
	// +optional
	KeyDropped bool `json:"keyDropped,omitempty"`
	// userID is the user the event is about, when known.
	// +optional
	UserID string `json:"userID,omitempty"`
	// verified says the request's signature (or token) was verified.
	// +optional
	Verified bool `json:"verified"`
	// status is what the ingress made of the event: accepted, idempotent,
	// unavailable, or, for a refused request, unauthorized, malformed or too_large.
	// +optional
	Status string `json:"status,omitempty"`
	// idempotent says every action was a duplicate of one stored earlier.
	// +optional
	Idempotent bool `json:"idempotent"`
	// actions is how many actions were published (or were duplicates).
	// +optional
	Actions int32 `json:"actions"`
	// failed is how many actions failed for good.
	// +optional
	Failed int32 `json:"failed,omitempty"`
	// error says why the event was refused, or why actions failed.
	// +optional
	Error string `json:"error,omitempty"`
	// size is the size of the request body received, in bytes.
	// +optional
	Size int64 `json:"size,omitempty"`
	// headers are the request's headers, secrets redacted. Present only for users who
	// may get sourceevents/payload; see redacted.
	// +optional
	Headers map[string]string `json:"headers,omitempty"`
	// headersTruncated says some headers were left out or cut short.
	// +optional
	HeadersTruncated bool `json:"headersTruncated,omitempty"`
	// payloadOmitted says the log record holds no payload because it would not fit in
	// one NATS message.
	// +optional
	PayloadOmitted bool `json:"payloadOmitted,omitempty"`
	// payload is the event exactly as received. Present only for users who may get
	// sourceevents/payload; see redacted.
	// +optional
	Payload *runtime.RawExtension `json:"payload,omitempty"`
	// redacted, when set, says why payload and headers are left out: the user may list
	// events but not get sourceevents/payload in this namespace.
	// +optional
	Redacted string `json:"redacted,omitempty"`
	// repeatOf, when set, says the ingress answered the event as a repeat of one whose
	// every action was stored, within its idempotency window, without evaluating the
	// mappings or publishing: it names the first delivery's SourceEvent, which holds
	// the payload and the actions.
	// +optional
	RepeatOf string `json:"repeatOf,omitempty"`
	// actionLog is what became of each action the event produced, in order.
	// +optional
	// +listType=atomic
	ActionLog []ActionOutcome `json:"actionLog,omitempty"`
}

// ActionOutcome is what became of one action of an event.
type ActionOutcome struct {
	// name is the SourceAction's name: the event id and the action's index.
	// +optional
	Name string `json:"name,omitempty"`
	// time is when the action was published or failed.
	// +optional
	Time metav1.Time `json:"time,omitzero"`
	// mapping is the EventMapping that produced the action.
	// +optional
	Mapping string `json:"mapping,omitempty"`
	// action is the action kind: identifyUser, triggerWorkflow, ...
	// +optional
	Action string `json:"action,omitempty"`
	// position is the action's index in the mapping's spec.actions.
	// +optional
	Position int32 `json:"position"`
	// subject is the NATS subject the action was published on.
	// +optional
	Subject string `json:"subject,omitempty"`
	// stream is the JetStream stream that stored the action.
	// +optional
	Stream string `json:"stream,omitempty"`
	// sequence is the action's sequence in that stream.
	// +optional
	Sequence int64 `json:"sequence,omitempty"`
	// status is published, duplicate, failed or unavailable.
	// +optional
	Status string `json:"status,omitempty"`
	// error says why the action failed.
	// +optional
	Error string `json:"error,omitempty"`
}

// SourceEventList is a page of SourceEvents, oldest first.
//
// +kubebuilder:object:root=true
type SourceEventList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the events.
	// +required
	Items []SourceEvent `json:"items"`
}

// SourceAction is one action an event produced, with its outcome. Its name is the
// event id and the action's index ("<event id>-<n>"); its creationTimestamp is the
// action's time and its resourceVersion the log stream sequence of its event's record.
// Read-only; it lives as long as the log stream keeps its event's record.
//
// +kubebuilder:object:root=true
type SourceAction struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the action's: name, namespace, creationTimestamp, resourceVersion
	// and labels.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// eventID is the SourceEvent the action came from.
	// +optional
	EventID string `json:"eventID,omitempty"`
	// sourceEnvironment is the SourceEnvironment that received the event.
	// +optional
	SourceEnvironment string `json:"sourceEnvironment,omitempty"`
	// eventType is the event's type.
	// +optional
	EventType string `json:"eventType,omitempty"`
	// mapping is the EventMapping that produced the action.
	// +optional
	Mapping string `json:"mapping,omitempty"`
	// action is the action kind: identifyUser, triggerWorkflow, ...
	// +optional
	Action string `json:"action,omitempty"`
	// position is the action's index in the mapping's spec.actions.
	// +optional
	Position int32 `json:"position"`
	// subject is the NATS subject the action was published on.
	// +optional
	Subject string `json:"subject,omitempty"`
	// stream is the JetStream stream that stored the action.
	// +optional
	Stream string `json:"stream,omitempty"`
	// sequence is the action's sequence in that stream.
	// +optional
	Sequence int64 `json:"sequence,omitempty"`
	// status is published, duplicate, failed or unavailable.
	// +optional
	Status string `json:"status,omitempty"`
	// error says why the action failed.
	// +optional
	Error string `json:"error,omitempty"`
}

// SourceActionList is a page of SourceActions, oldest first.
//
// +kubebuilder:object:root=true
type SourceActionList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the actions.
	// +required
	Items []SourceAction `json:"items"`
}
