package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group of the event log.
const GroupName = "logs.inlet.dev"

var (
	// SchemeGroupVersion is the group and version of the event log API.
	SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

	// SchemeBuilder adds the event log types to a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the event log types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Resource names, as in URLs and RBAC rules.
const (
	// SourceEvents is the resource of SourceEvent.
	SourceEvents = "sourceevents"
	// SourceActions is the resource of SourceAction.
	SourceActions = "sourceactions"
	// PayloadSubresource is the subresource whose get permission lets a user read
	// payloads and headers: get on sourceevents/payload. Payloads carry personal data,
	// so reading them is granted apart from listing what happened.
	PayloadSubresource = "payload"
)

// Labels every SourceEvent and SourceAction carries, for label selectors.
const (
	// LabelSourceEnvironment is the SourceEnvironment that received the event.
	LabelSourceEnvironment = "inlet.dev/source-environment"
	// LabelSource is the Source of that SourceEnvironment.
	LabelSource = "inlet.dev/source"
	// LabelEnvironment is the SourceEnvironment's environment (production, ...).
	LabelEnvironment = "inlet.dev/environment"
	// LabelEventType is the event type, when it is a valid label value.
	LabelEventType = "inlet.dev/event-type"
	// LabelStatus is the event's (or the action's) status.
	LabelStatus = "inlet.dev/status"
	// LabelAction is a SourceAction's action kind (triggerWorkflow, ...).
	LabelAction = "inlet.dev/action"
	// LabelMapping is a SourceAction's EventMapping.
	LabelMapping = "inlet.dev/mapping"
)

// Fields for field selectors (`--field-selector status=refused`). Field selectors only
// compare for equality; since and until select by time, inclusive.
const (
	FieldSourceEnvironment = "sourceEnvironment"
	FieldType              = "type"
	FieldEventType         = "eventType"
	FieldStatus            = "status"
	FieldAction            = "action"
	FieldMapping           = "mapping"
	FieldEventID           = "eventID"
	FieldSince             = "since"
	FieldUntil             = "until"
)

// StatusRefused matches, in a status selector, every event the ingress refused:
// unauthorized, malformed and too_large.
const StatusRefused = "refused"

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(SchemeGroupVersion,
		&SourceEvent{}, &SourceEventList{},
		&SourceAction{}, &SourceActionList{},
	)
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}
