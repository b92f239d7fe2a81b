package logsapi

import (
	"context"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	logsv1alpha1 "inlet.dev/inlet/api/logs/v1alpha1"
)

// nameFormat marks the column holding the object's name, as kubectl reads it.
const nameFormat = "name"

// stringType is the type of a column of text.
const stringType = "string"

var (
	eventColumns = []metav1.TableColumnDefinition{
		{Name: "Name", Type: stringType, Format: nameFormat, Description: "The event id."},
		{Name: "Source Environment", Type: stringType, Description: "The SourceEnvironment that received the event."},
		{Name: "Type", Type: stringType, Description: "The event type."},
		{Name: "Key", Type: stringType, Description: "The sender's idempotency key."},
		{Name: "Verified", Type: "boolean", Description: "Whether the signature or token was verified."},
		{Name: "Idempotent", Type: "boolean", Description: "Whether every action was a duplicate of one stored earlier."},
		{Name: "Actions", Type: "integer", Description: "Actions published."},
		{Name: "Status", Type: stringType, Description: "What the ingress made of the event."},
		{Name: "Age", Type: stringType, Description: "Time since the event was received."},
		{Name: "Error", Type: stringType, Priority: 1, Description: "Why the event was refused or actions failed."},
	}
	actionColumns = []metav1.TableColumnDefinition{
		{Name: "Name", Type: stringType, Format: nameFormat, Description: "The event id and the action's index."},
		{Name: "Source Environment", Type: stringType, Description: "The SourceEnvironment that received the event."},
		{Name: "Event Type", Type: stringType, Description: "The event's type."},
		{Name: "Mapping", Type: stringType, Description: "The EventMapping that produced the action."},
		{Name: "Action", Type: stringType, Description: "The action kind."},
		{Name: "Status", Type: stringType, Description: "published, duplicate, failed or unavailable."},
		{Name: "Age", Type: stringType, Description: "Time since the action was published or failed."},
		{Name: "Subject", Type: stringType, Priority: 1, Description: "The subject the action was published on."},
		{Name: "Sequence", Type: stringType, Priority: 1, Description: "The action's sequence in its stream."},
		{Name: "Error", Type: stringType, Priority: 1, Description: "Why the action failed."},
	}
)

// ConvertToTable makes kubectl's table of SourceEvents or SourceActions.
func (s *storage) ConvertToTable(_ context.Context, obj runtime.Object, _ runtime.Object) (*metav1.Table, error) {
	t := &metav1.Table{ColumnDefinitions: eventColumns}
	if s.actions {
		t.ColumnDefinitions = actionColumns
	}
	if m, err := meta.ListAccessor(obj); err == nil {
		t.ResourceVersion, t.Continue, t.RemainingItemCount = m.GetResourceVersion(), m.GetContinue(), m.GetRemainingItemCount()
	}
	add := func(o runtime.Object, cells ...any) {
		t.Rows = append(t.Rows, metav1.TableRow{Cells: cells, Object: runtime.RawExtension{Object: o}})
	}
	switch o := obj.(type) {
	case *logsv1alpha1.SourceEvent:
		add(o, eventCells(o)...)
	case *logsv1alpha1.SourceEventList:
		for i := range o.Items {
			add(&o.Items[i], eventCells(&o.Items[i])...)
		}
	case *logsv1alpha1.SourceAction:
		add(o, actionCells(o)...)
	case *logsv1alpha1.SourceActionList:
		for i := range o.Items {
			add(&o.Items[i], actionCells(&o.Items[i])...)
		}
	default:
		return nil, apierrors.NewInternalError(errUnknownObject)
	}
	return t, nil
}

var errUnknownObject = apierrors.NewBadRequest("not a SourceEvent or SourceAction")

func eventCells(e *logsv1alpha1.SourceEvent) []any {
	return []any{e.Name, e.SourceEnvironment, dash(e.Type), dash(short(e.IdempotencyKey, 20)), e.Verified, e.Idempotent,
		int64(e.Actions), e.Status, age(e.CreationTimestamp), dash(short(e.Error, 80))}
}

func actionCells(a *logsv1alpha1.SourceAction) []any {
	seq := "-"
	if a.Sequence > 0 {
		seq = strconv.FormatInt(a.Sequence, 10)
	}
	return []any{a.Name, a.SourceEnvironment, dash(a.EventType), dash(a.Mapping), dash(a.Action), a.Status,
		age(a.CreationTimestamp), dash(a.Subject), seq, dash(short(a.Error, 80))}
}

func age(t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(metav1.Now().Sub(t.Time))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func short(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}
