package logsapi

import (
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"

	logsv1alpha1 "inlet.dev/inlet/api/logs/v1alpha1"
	"inlet.dev/inlet/ingress/wire"
)

// redactedMessage is a SourceEvent's redacted field when the user may not read payloads.
const redactedMessage = "payload and headers are hidden: reading them needs get on sourceevents/payload in this namespace"

// record is one event log record with its place in the log stream.
type record struct {
	seq uint64
	wire.EventRecord
}

// toSourceEvent makes the SourceEvent of a record; payloads says whether the user may
// read its payload and headers.
func toSourceEvent(r *record, payloads bool) *logsv1alpha1.SourceEvent {
	e := &logsv1alpha1.SourceEvent{
		TypeMeta:          metav1.TypeMeta{APIVersion: logsv1alpha1.SchemeGroupVersion.String(), Kind: "SourceEvent"},
		ObjectMeta:        objectMeta(r, r.ID, r.Time, eventLabels(r)),
		SourceEnvironment: r.SourceEnvironment,
		Source:            r.Source,
		SourceType:        r.SourceType,
		Environment:       r.Environment,
		Type:              r.Type,
		IdempotencyKey:    r.IdempotencyKey,
		KeyDropped:        r.KeyDropped,
		UserID:            r.UserID,
		Verified:          r.Verified,
		Status:            r.Status,
		Idempotent:        r.Idempotent,
		Actions:           int32(r.Actions),
		Failed:            int32(r.Failed),
		Error:             r.Error,
		Size:              int64(r.Size),
		HeadersTruncated:  r.HeadersTruncated,
		PayloadOmitted:    r.PayloadOmitted,
		RepeatOf:          r.RepeatOf,
	}
	if payloads {
		e.Headers = r.Headers
		if len(r.Payload) > 0 {
			e.Payload = &runtime.RawExtension{Raw: r.Payload}
		}
	} else if len(r.Headers) > 0 || len(r.Payload) > 0 {
		e.Redacted = redactedMessage
	}
	for i := range r.ActionLog {
		e.ActionLog = append(e.ActionLog, outcome(r.ID, i, &r.ActionLog[i]))
	}
	return e
}

// toSourceAction makes the SourceAction of the i-th action of a record.
func toSourceAction(r *record, i int) *logsv1alpha1.SourceAction {
	a := &r.ActionLog[i]
	o := outcome(r.ID, i, a)
	t := a.Time
	if t.IsZero() {
		t = r.Time
	}
	labels := eventLabels(r)
	labels[logsv1alpha1.LabelStatus] = a.Status
	setLabel(labels, logsv1alpha1.LabelAction, a.Action)
	setLabel(labels, logsv1alpha1.LabelMapping, a.Mapping)
	return &logsv1alpha1.SourceAction{
		TypeMeta:          metav1.TypeMeta{APIVersion: logsv1alpha1.SchemeGroupVersion.String(), Kind: "SourceAction"},
		ObjectMeta:        objectMeta(r, o.Name, t, labels),
		EventID:           r.ID,
		SourceEnvironment: r.SourceEnvironment,
		EventType:         firstNonEmpty(a.EventType, r.Type),
		Mapping:           o.Mapping,
		Action:            o.Action,
		Position:          o.Position,
		Subject:           o.Subject,
		Stream:            o.Stream,
		Sequence:          o.Sequence,
		Status:            o.Status,
		Error:             o.Error,
	}
}

func outcome(eventID string, i int, a *wire.ActionRecord) logsv1alpha1.ActionOutcome {
	return logsv1alpha1.ActionOutcome{
		Name:     actionName(eventID, i),
		Time:     metav1.NewTime(a.Time),
		Mapping:  a.Mapping,
		Action:   a.Action,
		Position: int32(a.Position),
		Subject:  a.Subject,
		Stream:   a.Stream,
		Sequence: int64(a.Sequence),
		Status:   a.Status,
		Error:    a.Error,
	}
}

// actionName is the name of the i-th action of an event: "<event id>-<i>".
func actionName(eventID string, i int) string {
	return eventID + "-" + strconv.Itoa(i)
}

// splitActionName is the inverse of actionName.
func splitActionName(name string) (eventID string, i int, ok bool) {
	cut := strings.LastIndexByte(name, '-')
	if cut <= 0 {
		return "", 0, false
	}
	i, err := strconv.Atoi(name[cut+1:])
	if err != nil || i < 0 || strconv.Itoa(i) != name[cut+1:] {
		return "", 0, false
	}
	return name[:cut], i, true
}

func objectMeta(r *record, name string, t time.Time, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              name,
		Namespace:         r.Namespace,
		CreationTimestamp: metav1.NewTime(t),
		ResourceVersion:   strconv.FormatUint(r.seq, 10),
		Labels:            labels,
	}
}

func eventLabels(r *record) map[string]string {
	l := map[string]string{}
	setLabel(l, logsv1alpha1.LabelSourceEnvironment, r.SourceEnvironment)
	setLabel(l, logsv1alpha1.LabelSource, r.Source)
	setLabel(l, logsv1alpha1.LabelEnvironment, r.Environment)
	setLabel(l, logsv1alpha1.LabelEventType, r.Type)
	setLabel(l, logsv1alpha1.LabelStatus, r.Status)
	return l
}

// setLabel sets a label when the value is a valid label value (an event type may not
// be: the type field selector matches those).
func setLabel(l map[string]string, key, value string) {
	if value != "" && len(validation.IsValidLabelValue(value)) == 0 {
		l[key] = value
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// refused reports whether an event status is one of a refused request.
func refused(status string) bool {
	return status == wire.EventUnauthorized || status == wire.EventMalformed || status == wire.EventTooLarge
}
