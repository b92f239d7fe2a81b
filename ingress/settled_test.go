package ingress_test

import (
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
)

// A sender's repeat of an event whose every action was stored is answered as
// JetStream's duplicate window would answer it, from what the instance remembers:
// its record names the first delivery and stores no second copy of the payload, and
// nothing is published.
func TestRepeatIsAnsweredFromSettledEvents(t *testing.T) {
	stripe := sourceCases["stripe"]
	mapping := v1alpha1.EventMappingSpec{EventType: stripe.eventType, Actions: []v1alpha1.Action{
		{TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{Workflow: "welcome", Recipients: "[body.data.object.customer]"}},
		{IdentifyUser: &v1alpha1.IdentifyUserAction{ID: "body.data.object.customer"}},
	}}
	h := newHarness(t, fixture("stripe", stripe.spec, stripe.secret, mapping))
	first := h.send("stripe-test", []byte(stripe.body))
	again := h.send("stripe-test", []byte(stripe.body))
	if first.Status != 200 || first.Actions != 2 || first.Idempotent {
		t.Fatalf("first delivery = %+v", first)
	}
	if again.Status != 200 || !again.Idempotent || again.Actions != 2 || again.Duplicates != 2 || again.EventIDs[0] == first.EventIDs[0] {
		t.Errorf("repeat = %+v, want idempotent, 2 duplicates, an event id of its own", again)
	}
	rec := h.eventLog("stripe-test", again.EventIDs[0])
	if rec.RepeatOf != first.EventIDs[0] || rec.Status != "idempotent" || !rec.Idempotent || rec.Actions != 2 || len(rec.Payload) != 0 {
		t.Errorf("repeat's record = %+v, want a repeat of %s, idempotent, 2 actions, no payload", rec, first.EventIDs[0])
	}
	if orig := h.eventLog("stripe-test", first.EventIDs[0]); len(orig.Payload) == 0 || len(orig.ActionLog) != 2 {
		t.Errorf("first delivery's record = %+v, want its payload and 2 actions", orig)
	}
	if got := h.actions(jetstream.ActionStreamSubject); len(got) != 2 {
		t.Errorf("stored %d actions, want 2", len(got))
	}
	metrics := scrapeMetrics(t, h.server)
	for _, want := range []string{
		`inlet_ingress_repeats_total{namespace="default",source_environment="stripe-test"} 1`,
		`inlet_ingress_requests_total{code="200",namespace="default",result="idempotent",source_environment="stripe-test"} 1`,
		// Only the first delivery waited for JetStream.
		`inlet_ingress_publish_duration_seconds_count 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics do not hold %s", want)
		}
	}
	// Nothing was published for the repeat: no action was counted a duplicate.
	if strings.Contains(metrics, `status="duplicate"`) {
		t.Errorf("the repeat published its actions again:\n%s", metrics)
	}

	// A mapping added since: the next repeat runs the mappings, and the new one's
	// action is published once.
	in := fixture("stripe", stripe.spec, stripe.secret, mapping,
		v1alpha1.EventMappingSpec{EventType: stripe.eventType, Actions: []v1alpha1.Action{
			{TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{Workflow: "audit", Recipients: "['ops']"}},
		}})
	h.server.SetSnapshot(config.Build(in))
	after := h.send("stripe-test", []byte(stripe.body))
	if after.Status != 200 || after.Idempotent || after.Actions != 3 || after.Duplicates != 2 {
		t.Errorf("repeat after a mapping was added = %+v, want 3 actions of which 2 duplicates", after)
	}
	if rec := h.eventLog("stripe-test", after.EventIDs[0]); rec.RepeatOf != "" || len(rec.Payload) == 0 {
		t.Errorf("its record = %+v, want a full record", rec)
	}
	if got := h.actions(jetstream.ActionStreamSubject); len(got) != 3 {
		t.Errorf("stored %d actions, want 3", len(got))
	}
}

// Only events whose every action was stored are remembered: a repeat of one whose
// action failed runs the mappings again, and so does one past the idempotency window
// or beyond what the instance remembers.
func TestRepeatsThatTakeTheFullPath(t *testing.T) {
	stripe := sourceCases["stripe"]
	in := merge(
		fixture("stripe", stripe.spec, stripe.secret, trigger(stripe.eventType, "[body.data.object.customer]")),
		fixture("bad", stripe.spec, stripe.secret, trigger(stripe.eventType, "[body.no.such.field]")),
	)
	for i := range in.SourceEnvironments {
		in.SourceEnvironments[i].Spec.Idempotency.Window = &v1alpha1.Duration{Duration: time.Minute}
	}
	h := newHarness(t, in)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := ingress.NewServer(ingress.Options{Publisher: h.client, Logger: testr.New(t), Now: clock, SettledEvents: 2})
	srv.SetSnapshot(config.Build(in))
	base := httptestServer(t, srv.Handler())
	send := func(se, id string) answer {
		t.Helper()
		return h.sendTo(base, se, []byte(strings.Replace(stripe.body, `"evt_1"`, `"`+id+`"`, 1)))
	}
	repeatOf := func(se string, a answer) string {
		t.Helper()
		if a.Status != 200 || len(a.EventIDs) != 1 {
			t.Fatalf("answer = %+v", a)
		}
		return h.eventLog(se, a.EventIDs[0]).RepeatOf
	}

	// An action that failed to build: not remembered.
	if a := send("bad-test", "evt_bad"); a.Failed != 1 {
		t.Fatalf("event with a failing action = %+v", a)
	}
	if r := repeatOf("bad-test", send("bad-test", "evt_bad")); r != "" {
		t.Errorf("repeat of an event whose action failed was answered as a repeat of %s", r)
	}

	// At most 2 remembered: the oldest goes first.
	send("stripe-test", "evt_a")
	send("stripe-test", "evt_b")
	firstC := send("stripe-test", "evt_c")
	if r := repeatOf("stripe-test", send("stripe-test", "evt_a")); r != "" {
		t.Errorf("repeat of an event forgotten for room was answered as a repeat of %s", r)
	}
	if r := repeatOf("stripe-test", send("stripe-test", "evt_c")); r != firstC.EventIDs[0] {
		t.Errorf("repeat of a remembered event: repeat of %q, want %s", r, firstC.EventIDs[0])
	}

	// Past the idempotency window (a minute here) of the first delivery.
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	if r := repeatOf("stripe-test", send("stripe-test", "evt_c")); r != "" {
		t.Errorf("repeat past the window was answered as a repeat of %s", r)
	}
}

func scrapeMetrics(t *testing.T, s *ingress.Server) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}
