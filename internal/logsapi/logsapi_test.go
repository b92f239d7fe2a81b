package logsapi_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"

	logsv1alpha1 "inlet.dev/inlet/api/logs/v1alpha1"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/wire"
)

// record is an accepted stripe event with two actions.
func record(namespace, sourceEnvironment, id string, at time.Time) wire.EventRecord {
	return wire.EventRecord{
		Kind: "event", ID: id, Time: at.UTC(), Namespace: namespace, SourceEnvironment: sourceEnvironment,
		Source: "stripe", SourceType: "stripe", Environment: "production",
		Type: "customer.subscription.created", IdempotencyKey: "evt_" + id, Verified: true,
		Status: wire.EventAccepted, Actions: 2, Size: 17,
		Headers: map[string]string{"content-type": "application/json", "stripe-signature": "[redacted]"},
		Payload: json.RawMessage(`{"id":"evt_` + id + `","email":"ada@example.com"}`),
		ActionLog: []wire.ActionRecord{
			{EventID: id, Time: at.UTC(), Namespace: namespace, SourceEnvironment: sourceEnvironment,
				EventType: "customer.subscription.created", Mapping: "welcome", Action: "identifyUser",
				Subject: "inlet.actions.production.identifyUser", Stream: "INLET_ACTIONS", Sequence: 1, Status: wire.ActionPublished},
			{EventID: id, Time: at.UTC(), Namespace: namespace, SourceEnvironment: sourceEnvironment,
				EventType: "customer.subscription.created", Mapping: "welcome", Action: "triggerWorkflow", Position: 1,
				Subject: "inlet.actions.production.triggerWorkflow", Stream: "INLET_ACTIONS", Sequence: 2, Status: wire.ActionPublished},
		},
	}
}

// refusedRecord is a request refused for its signature.
func refusedRecord(namespace, sourceEnvironment, id string, at time.Time) wire.EventRecord {
	return wire.EventRecord{
		Kind: "event", ID: id, Time: at.UTC(), Namespace: namespace, SourceEnvironment: sourceEnvironment,
		Source: "stripe", SourceType: "stripe", Environment: "production",
		Status: wire.EventUnauthorized, Error: "signature does not match", Size: 17,
	}
}

func publish(t *testing.T, recs ...wire.EventRecord) {
	t.Helper()
	for i := range recs {
		m, err := jetstream.EncodeEventRecord(&recs[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nats.JetStream().Publish(t.Context(), m.Subject, m.Data); err != nil {
			t.Fatal(err)
		}
	}
}

// admin can do anything.
func admin(t *testing.T) *rest.RESTClient { return logsClient(t, env.Config) }

func listEvents(t *testing.T, c *rest.RESTClient, namespace string, opts metav1.ListOptions) *logsv1alpha1.SourceEventList {
	t.Helper()
	list := &logsv1alpha1.SourceEventList{}
	err := c.Get().Namespace(namespace).Resource(logsv1alpha1.SourceEvents).
		VersionedParams(&opts, runtime.NewParameterCodec(scheme)).Do(t.Context()).Into(list)
	if err != nil {
		t.Fatalf("list sourceevents in %s (%+v): %v", namespace, opts, err)
	}
	return list
}

func names[T any](items []T, name func(*T) string) []string {
	out := []string{}
	for i := range items {
		out = append(out, name(&items[i]))
	}
	return out
}

func eventNames(l *logsv1alpha1.SourceEventList) []string {
	return names(l.Items, func(e *logsv1alpha1.SourceEvent) string { return e.Name })
}

func TestListSelectsBySourceEnvironmentStatusTypeAndTime(t *testing.T) {
	ns := namespace(t)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	publish(t,
		record(ns, "stripe-production", "a1", t0),
		refusedRecord(ns, "stripe-production", "a2", t0.Add(time.Minute)),
		record(ns, "stripe-staging", "b1", t0.Add(2*time.Minute)),
		record("other", "stripe-production", "o1", t0),
	)
	c := admin(t)
	tests := map[string]struct {
		opts metav1.ListOptions
		want []string
	}{
		"everything in the namespace, oldest first": {want: []string{"a1", "a2", "b1"}},
		"label source environment": {opts: metav1.ListOptions{LabelSelector: "inlet.dev/source-environment=stripe-production"},
			want: []string{"a1", "a2"}},
		"field source environment": {opts: metav1.ListOptions{FieldSelector: "sourceEnvironment=stripe-staging"}, want: []string{"b1"}},
		"refused":                  {opts: metav1.ListOptions{FieldSelector: "status=refused"}, want: []string{"a2"}},
		"not refused":              {opts: metav1.ListOptions{FieldSelector: "status!=refused"}, want: []string{"a1", "b1"}},
		"status label":             {opts: metav1.ListOptions{LabelSelector: "inlet.dev/status=accepted"}, want: []string{"a1", "b1"}},
		"type": {opts: metav1.ListOptions{FieldSelector: "type=customer.subscription.created,sourceEnvironment=stripe-production"},
			want: []string{"a1"}},
		"since": {opts: metav1.ListOptions{FieldSelector: "since=" + t0.Add(time.Minute).Format(time.RFC3339)},
			want: []string{"a2", "b1"}},
		"until": {opts: metav1.ListOptions{FieldSelector: "until=" + t0.Add(time.Minute).Format(time.RFC3339)},
			want: []string{"a1", "a2"}},
		"name": {opts: metav1.ListOptions{FieldSelector: "metadata.name=b1"}, want: []string{"b1"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := eventNames(listEvents(t, c, ns, tc.opts))
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("unknown field is refused", func(t *testing.T) {
		err := c.Get().Namespace(ns).Resource(logsv1alpha1.SourceEvents).Param("fieldSelector", "payload=x").Do(t.Context()).Error()
		if !apierrors.IsBadRequest(err) {
			t.Errorf("got %v, want 400 Bad Request", err)
		}
	})
	t.Run("actions by status and action", func(t *testing.T) {
		list := &logsv1alpha1.SourceActionList{}
		err := c.Get().Namespace(ns).Resource(logsv1alpha1.SourceActions).Param("fieldSelector", "action=triggerWorkflow").
			Param("labelSelector", "inlet.dev/source-environment=stripe-production").Do(t.Context()).Into(list)
		if err != nil {
			t.Fatal(err)
		}
		got := names(list.Items, func(a *logsv1alpha1.SourceAction) string { return a.Name })
		if !slices.Equal(got, []string{"a1-1"}) {
			t.Errorf("got %v, want [a1-1]", got)
		}
	})
}

func TestListPagesByStreamSequence(t *testing.T) {
	ns := namespace(t)
	t0 := time.Now().Add(-time.Minute)
	var want []string
	for i := range 25 {
		id := fmt.Sprintf("p%02d", i)
		want = append(want, id)
		publish(t, record(ns, "stripe-production", id, t0.Add(time.Duration(i)*time.Millisecond)))
	}
	c := admin(t)
	var got []string
	var pages []int
	opts := metav1.ListOptions{Limit: 10}
	first := ""
	for {
		l := listEvents(t, c, ns, opts)
		if first == "" {
			first = l.ResourceVersion
			// Records stored after the first page are not in this list: a watch from
			// its resourceVersion brings them.
			publish(t, record(ns, "stripe-production", "late", time.Now()))
		}
		got = append(got, eventNames(l)...)
		pages = append(pages, len(l.Items))
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged through %v, want %v", got, want)
	}
	if !slices.Equal(pages, []int{10, 10, 5}) {
		t.Errorf("page sizes %v, want [10 10 5]", pages)
	}

	t.Run("actions page within an event", func(t *testing.T) {
		var got []string
		opts := metav1.ListOptions{Limit: 3, FieldSelector: "eventID!=late"}
		for {
			list := &logsv1alpha1.SourceActionList{}
			err := c.Get().Namespace(ns).Resource(logsv1alpha1.SourceActions).
				VersionedParams(&opts, runtime.NewParameterCodec(scheme)).Do(t.Context()).Into(list)
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Items) > 3 {
				t.Fatalf("page of %d, limit 3", len(list.Items))
			}
			got = append(got, names(list.Items, func(a *logsv1alpha1.SourceAction) string { return a.Name })...)
			if list.Continue == "" {
				break
			}
			opts.Continue = list.Continue
		}
		if len(got) != 50 || got[0] != "p00-0" || got[1] != "p00-1" || got[49] != "p24-1" {
			t.Errorf("paged through %d actions %v, want p00-0 ... p24-1", len(got), got)
		}
	})
}

func TestWatchShowsNewRecordsWithinASecond(t *testing.T) {
	ns := namespace(t)
	publish(t, record(ns, "stripe-production", "before", time.Now()))
	c := admin(t)
	list := listEvents(t, c, ns, metav1.ListOptions{})
	opts := metav1.ListOptions{ResourceVersion: list.ResourceVersion, FieldSelector: "sourceEnvironment=stripe-production", Watch: true}
	w, err := c.Get().Namespace(ns).Resource(logsv1alpha1.SourceEvents).
		VersionedParams(&opts, runtime.NewParameterCodec(scheme)).Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for _, id := range []string{"w1", "w2"} {
		publish(t, record(ns, "stripe-staging", id+"-elsewhere", time.Now()), record(ns, "stripe-production", id, time.Now()))
		sent := time.Now()
		select {
		case ev := <-w.ResultChan():
			e, ok := ev.Object.(*logsv1alpha1.SourceEvent)
			if ev.Type != watch.Added || !ok || e.Name != id {
				t.Fatalf("got %s %#v, want ADDED %s", ev.Type, ev.Object, id)
			}
			if d := time.Since(sent); d > time.Second {
				t.Errorf("%s arrived after %s, want within 1s", id, d)
			}
		case <-time.After(time.Second):
			t.Fatalf("%s not seen within 1s", id)
		}
	}
}

func TestGetShowsTheEventAndItsActions(t *testing.T) {
	ns := namespace(t)
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	publish(t, record(ns, "stripe-production", "g1", at))
	c := admin(t)
	e := &logsv1alpha1.SourceEvent{}
	if err := c.Get().Namespace(ns).Resource(logsv1alpha1.SourceEvents).Name("g1").Do(t.Context()).Into(e); err != nil {
		t.Fatal(err)
	}
	if e.SourceEnvironment != "stripe-production" || e.Status != wire.EventAccepted || !e.CreationTimestamp.Time.Equal(at) ||
		len(e.ActionLog) != 2 || e.ActionLog[1].Action != "triggerWorkflow" || e.ActionLog[1].Name != "g1-1" {
		t.Errorf("got %+v", e)
	}
	if e.Payload == nil || !strings.Contains(string(e.Payload.Raw), "ada@example.com") || e.Headers["content-type"] == "" || e.Redacted != "" {
		t.Errorf("an admin reads the payload and headers; got payload %v, headers %v, redacted %q", e.Payload, e.Headers, e.Redacted)
	}
	a := &logsv1alpha1.SourceAction{}
	if err := c.Get().Namespace(ns).Resource(logsv1alpha1.SourceActions).Name("g1-1").Do(t.Context()).Into(a); err != nil {
		t.Fatal(err)
	}
	if a.EventID != "g1" || a.Action != "triggerWorkflow" || a.Status != wire.ActionPublished || a.Sequence != 2 {
		t.Errorf("got %+v", a)
	}
	for resource, name := range map[string]string{logsv1alpha1.SourceEvents: "nope", logsv1alpha1.SourceActions: "g1-2"} {
		err := c.Get().Namespace(ns).Resource(resource).Name(name).Do(t.Context()).Error()
		if !apierrors.IsNotFound(err) {
			t.Errorf("get %s %s: got %v, want 404", resource, name, err)
		}
	}
	// In another namespace the event does not exist.
	err := c.Get().Namespace("default").Resource(logsv1alpha1.SourceEvents).Name("g1").Do(t.Context()).Error()
	if !apierrors.IsNotFound(err) {
		t.Errorf("get from another namespace: got %v, want 404", err)
	}
}

func TestTableHasTheIssuesColumns(t *testing.T) {
	ns := namespace(t)
	publish(t, record(ns, "stripe-production", "t1", time.Now()))
	raw, err := admin(t).Get().Namespace(ns).Resource(logsv1alpha1.SourceEvents).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(t.Context()).Raw()
	if err != nil {
		t.Fatal(err)
	}
	var table metav1.Table
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatal(err)
	}
	var columns []string
	for _, c := range table.ColumnDefinitions {
		if c.Priority == 0 {
			columns = append(columns, strings.ToUpper(c.Name))
		}
	}
	want := []string{"NAME", "SOURCE ENVIRONMENT", "TYPE", "KEY", "VERIFIED", "IDEMPOTENT", "ACTIONS", "STATUS", "AGE"}
	if !slices.Equal(columns, want) {
		t.Errorf("columns %v, want %v", columns, want)
	}
	if len(table.Rows) != 1 || table.Rows[0].Cells[0] != "t1" || table.Rows[0].Cells[7] != "accepted" {
		t.Errorf("rows %+v", table.Rows)
	}
}

func TestPermissions(t *testing.T) {
	ns := namespace(t)
	publish(t, record(ns, "stripe-production", "s1", time.Now()))
	read := rbacv1.PolicyRule{APIGroups: []string{logsv1alpha1.GroupName},
		Resources: []string{logsv1alpha1.SourceEvents, logsv1alpha1.SourceActions}, Verbs: []string{"get", "list", "watch"}}
	payload := rbacv1.PolicyRule{APIGroups: []string{logsv1alpha1.GroupName},
		Resources: []string{"sourceevents/payload"}, Verbs: []string{"get"}}
	grant(t, ns, "lister", read)
	grant(t, ns, "reader", read, payload)
	outsider := logsClient(t, userConfig(t, "outsider"))
	lister := logsClient(t, userConfig(t, "lister"))
	reader := logsClient(t, userConfig(t, "reader"))

	t.Run("a user without permission is forbidden", func(t *testing.T) {
		for _, req := range []*rest.Request{
			outsider.Get().Namespace(ns).Resource(logsv1alpha1.SourceEvents),
			outsider.Get().Namespace(ns).Resource(logsv1alpha1.SourceEvents).Name("s1"),
			outsider.Get().Namespace(ns).Resource(logsv1alpha1.SourceActions),
			lister.Get().Namespace("default").Resource(logsv1alpha1.SourceEvents),
			lister.Get().Resource(logsv1alpha1.SourceEvents),
		} {
			if err := req.Do(t.Context()).Error(); !apierrors.IsForbidden(err) {
				t.Errorf("%s: got %v, want 403 Forbidden", req.URL(), err)
			}
		}
	})
	t.Run("listing without payload permission hides payload and headers", func(t *testing.T) {
		for _, e := range listEvents(t, lister, ns, metav1.ListOptions{}).Items {
			if e.Payload != nil || e.Headers != nil || !strings.Contains(e.Redacted, "sourceevents/payload") {
				t.Errorf("lister got payload %v, headers %v, redacted %q", e.Payload, e.Headers, e.Redacted)
			}
			if e.Type != "customer.subscription.created" || len(e.ActionLog) != 2 {
				t.Errorf("lister should still see what happened: %+v", e)
			}
		}
	})
	t.Run("get on sourceevents/payload shows them", func(t *testing.T) {
		e := &logsv1alpha1.SourceEvent{}
		if err := reader.Get().Namespace(ns).Resource(logsv1alpha1.SourceEvents).Name("s1").Do(t.Context()).Into(e); err != nil {
			t.Fatal(err)
		}
		if e.Payload == nil || e.Headers == nil || e.Redacted != "" {
			t.Errorf("reader got payload %v, headers %v, redacted %q", e.Payload, e.Headers, e.Redacted)
		}
	})
}

// A page reads a bounded number of records: a selector that matches one record at the
// end of thousands gets pages of nothing but a continue token until the page that
// reaches it, rather than one request reading the whole stream.
func TestListReadsABoundedNumberOfRecordsPerPage(t *testing.T) {
	ns := namespace(t)
	t0 := time.Now().Add(-time.Hour)
	var msgs []jetstream.Message
	for i := range 12000 {
		r := refusedRecord(ns, "noisy", fmt.Sprintf("n%05d", i), t0)
		m, err := jetstream.EncodeEventRecord(&r)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if _, err := nats.PublishAll(t.Context(), msgs); err != nil {
		t.Fatal(err)
	}
	publish(t, record(ns, "noisy", "needle", t0))
	c := admin(t)
	opts := metav1.ListOptions{FieldSelector: "status=accepted"}
	var pages, empty int
	var got []string
	for {
		l := listEvents(t, c, ns, opts)
		pages++
		if len(l.Items) == 0 {
			empty++
		}
		got = append(got, eventNames(l)...)
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	if !slices.Equal(got, []string{"needle"}) {
		t.Errorf("found %v, want [needle]", got)
	}
	if pages < 3 || empty < 2 {
		t.Errorf("%d pages, %d of them empty: a page read more than a bounded number of records", pages, empty)
	}
}
