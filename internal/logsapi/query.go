package logsapi

import (
	"fmt"
	"slices"
	"time"

	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	logsv1alpha1 "inlet.dev/inlet/api/logs/v1alpha1"
	"inlet.dev/inlet/ingress/jetstream"
)

// The field selectors of an object's name and namespace.
const (
	fieldName      = "metadata.name"
	fieldNamespace = "metadata.namespace"
)

// eventFields and actionFields are the fields each kind may be selected by.
var (
	eventFields = []string{fieldName, fieldNamespace, logsv1alpha1.FieldSourceEnvironment,
		logsv1alpha1.FieldType, logsv1alpha1.FieldStatus, logsv1alpha1.FieldSince, logsv1alpha1.FieldUntil}
	actionFields = []string{fieldName, fieldNamespace, logsv1alpha1.FieldSourceEnvironment,
		logsv1alpha1.FieldEventType, logsv1alpha1.FieldEventID, logsv1alpha1.FieldStatus, logsv1alpha1.FieldAction,
		logsv1alpha1.FieldMapping, logsv1alpha1.FieldSince, logsv1alpha1.FieldUntil}
)

// fieldLabelConversion accepts the fields of a kind, as the scheme's field label
// conversion function: the API server refuses a selector on any other field.
func fieldLabelConversion(allowed []string) func(label, value string) (string, string, error) {
	return func(label, value string) (string, string, error) {
		if !slices.Contains(allowed, label) {
			return "", "", fmt.Errorf("field label not supported: %s (supported: %v)", label, allowed)
		}
		return label, value, nil
	}
}

// query is what a list or watch asks for: where in the log stream to look and which
// records to keep.
type query struct {
	namespace         string
	sourceEnvironment string
	since, until      time.Time
	fields            []fields.Requirement
	labels            labels.Selector
}

func newQuery(namespace string, opts *metainternalversion.ListOptions) (*query, error) {
	q := &query{namespace: namespace, labels: labels.Everything()}
	if opts == nil {
		return q, nil
	}
	if opts.LabelSelector != nil {
		q.labels = opts.LabelSelector
		if v, ok := opts.LabelSelector.RequiresExactMatch(logsv1alpha1.LabelSourceEnvironment); ok {
			q.sourceEnvironment = v
		}
	}
	if opts.FieldSelector == nil {
		return q, nil
	}
	for _, r := range opts.FieldSelector.Requirements() {
		eq := r.Operator == selection.Equals || r.Operator == selection.DoubleEquals
		switch r.Field {
		case logsv1alpha1.FieldSince, logsv1alpha1.FieldUntil:
			if !eq {
				return nil, fmt.Errorf("field selector %s: only %s=<RFC 3339 time> is supported", r.Field, r.Field)
			}
			t, err := time.Parse(time.RFC3339, r.Value)
			if err != nil {
				return nil, fmt.Errorf("field selector %s=%q: not an RFC 3339 time such as 2026-01-02T15:04:05Z", r.Field, r.Value)
			}
			if r.Field == logsv1alpha1.FieldSince {
				q.since = t
			} else {
				q.until = t
			}
			continue
		case fieldNamespace:
			if eq && namespace != "" && r.Value != namespace {
				// Nothing can match; keep the requirement, which says so.
				q.fields = append(q.fields, r)
				continue
			}
		case logsv1alpha1.FieldSourceEnvironment:
			if eq {
				if q.sourceEnvironment != "" && q.sourceEnvironment != r.Value {
					q.fields = append(q.fields, r)
					continue
				}
				q.sourceEnvironment = r.Value
			}
		}
		q.fields = append(q.fields, r)
	}
	return q, nil
}

// subject is the subject filter that holds every record the query may keep.
func (q *query) subject() string {
	if q.namespace != "" && q.sourceEnvironment != "" {
		return jetstream.EventLogFilter(q.namespace, q.sourceEnvironment)
	}
	return jetstream.EventLogNamespaceFilter(q.namespace)
}

// inTime reports whether t is within since and until.
func (q *query) inTime(t time.Time) bool {
	return (q.since.IsZero() || !t.Before(q.since)) && (q.until.IsZero() || !t.After(q.until))
}

// pastUntil reports whether a record received at t, and every later one, is past until.
func (q *query) pastUntil(t time.Time) bool {
	return !q.until.IsZero() && t.After(q.until)
}

func (q *query) matchEvent(r *record) bool {
	if !q.inTime(r.Time) || !q.labels.Matches(labels.Set(eventLabels(r))) {
		return false
	}
	return q.matchFields(func(field string) string {
		switch field {
		case fieldName:
			return r.ID
		case fieldNamespace:
			return r.Namespace
		case logsv1alpha1.FieldSourceEnvironment:
			return r.SourceEnvironment
		case logsv1alpha1.FieldType:
			return r.Type
		case logsv1alpha1.FieldStatus:
			return r.Status
		}
		return ""
	})
}

func (q *query) matchAction(r *record, i int) bool {
	a := toSourceAction(r, i)
	if !q.inTime(a.CreationTimestamp.Time) || !q.labels.Matches(labels.Set(a.Labels)) {
		return false
	}
	return q.matchFields(func(field string) string {
		switch field {
		case fieldName:
			return a.Name
		case fieldNamespace:
			return a.Namespace
		case logsv1alpha1.FieldSourceEnvironment:
			return a.SourceEnvironment
		case logsv1alpha1.FieldEventType:
			return a.EventType
		case logsv1alpha1.FieldEventID:
			return a.EventID
		case logsv1alpha1.FieldStatus:
			return a.Status
		case logsv1alpha1.FieldAction:
			return a.Action
		case logsv1alpha1.FieldMapping:
			return a.Mapping
		}
		return ""
	})
}

// matchFields evaluates the field requirements, value giving a field's value. A status
// of "refused" stands for every refused request's status.
func (q *query) matchFields(value func(field string) string) bool {
	for _, r := range q.fields {
		v := value(r.Field)
		eq := v == r.Value || r.Field == logsv1alpha1.FieldStatus && r.Value == logsv1alpha1.StatusRefused && refused(v)
		switch r.Operator {
		case selection.Equals, selection.DoubleEquals:
			if !eq {
				return false
			}
		case selection.NotEquals:
			if eq {
				return false
			}
		default:
			return false
		}
	}
	return true
}
