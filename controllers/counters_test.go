package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"inlet.dev/inlet/api/v1alpha1"
	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
	"inlet.dev/inlet/ingress/stats"
)

// TestCountersNeverGoBackwards replaces an ingress pod, as deleting it, a rollout or
// scaling down does: what the departed pod counted stays in kubectl get's columns.
func TestCountersNeverGoBackwards(t *testing.T) {
	h := start(t, Options{ResyncInterval: 300 * time.Millisecond})
	h.applySamples("stripe.yaml")
	h.waitForCondition("stripe-production", v1alpha1.ConditionStreamsReady, metav1.ConditionTrue, v1alpha1.ReasonStreamsReady)
	kv, err := stats.EnsureBucket(h.ctx(), h.js)
	if err != nil {
		t.Fatal(err)
	}
	// The counters must outlive every pod: the bucket expires nothing.
	if st, err := kv.Status(h.ctx()); err != nil || st.TTL() != 0 {
		t.Fatalf("bucket TTL %v, %v; want none", st.TTL(), err)
	}

	type counts struct{ events, actions, winback int64 }
	var seen counts
	read := func() (counts, error) {
		se, err := h.sourceEnvironment("stripe-production")
		if err != nil {
			return counts{}, err
		}
		m, err := h.eventMapping("stripe-winback")
		if err != nil {
			return counts{}, err
		}
		c := counts{se.Status.EventsReceived, se.Status.ActionsPublished, m.Status.EventsMatched}
		if c.events < seen.events || c.actions < seen.actions || c.winback < seen.winback {
			t.Errorf("counters went backwards: %+v after %+v", c, seen)
		}
		seen = c
		return c, nil
	}
	waitFor := func(what string, want counts) {
		t.Helper()
		eventually(t, what, func() error {
			c, err := read()
			if err != nil {
				return err
			}
			if c != want {
				return fmt.Errorf("events, actions, winback matches = %+v, want %+v", c, want)
			}
			return nil
		})
	}
	put := func(instance string, since time.Time, events, actions, winback int64) {
		t.Helper()
		r := stats.Report{EventsReceived: events, ActionsPublished: actions, Matched: map[string]int64{"stripe-winback": winback}, Since: since, LastEventTime: time.Now()}
		if err := stats.Put(h.ctx(), kv, h.ns, "stripe-production", instance, r); err != nil {
			t.Fatal(err)
		}
	}

	t0 := time.Now().Add(-time.Hour)
	put("ingress-a", t0, 10, 12, 4)
	put("ingress-b", t0, 5, 5, 1)
	waitFor("two pods' counts", counts{15, 17, 5})

	// ingress-a is deleted; ingress-c replaces it and starts from zero.
	put("ingress-c", t0.Add(time.Minute), 0, 0, 0)
	time.Sleep(time.Second) // several resyncs: nothing may go down
	waitFor("after the replacement", counts{15, 17, 5})
	put("ingress-c", t0.Add(time.Minute), 2, 3, 1)
	waitFor("the new pod's counts added", counts{17, 20, 6})

	// ingress-b's container restarts under the same name, from zero.
	put("ingress-b", t0.Add(2*time.Minute), 1, 1, 0)
	waitFor("after a restart", counts{18, 21, 6})
}

// TestIdempotencyKeysHeldCountsTheStream publishes a burst of actions: the keys held
// are the actions the stream stored within the window, not the burst's rate times the
// window.
func TestIdempotencyKeysHeldCountsTheStream(t *testing.T) {
	h := start(t, Options{ResyncInterval: 300 * time.Millisecond, KeysBudget: 50})
	h.applySamples("stripe.yaml")
	h.waitForCondition("stripe-production", v1alpha1.ConditionStreamsReady, metav1.ConditionTrue, v1alpha1.ReasonStreamsReady)
	publish := func(from, n int) {
		t.Helper()
		for i := from; i < from+n; i++ {
			if _, err := h.js.Publish(h.ctx(), inletjs.ActionSubject("production", "triggerWorkflow"), []byte("{}"),
				jetstream.WithMsgID(fmt.Sprintf("evt_%d", i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitForKeys := func(want int64, reason string) {
		t.Helper()
		eventually(t, fmt.Sprintf("%d keys held, %s", want, reason), func() error {
			se, err := h.sourceEnvironment("stripe-production")
			if err != nil {
				return err
			}
			if se.Status.IdempotencyKeysHeld != want {
				return fmt.Errorf("idempotencyKeysHeld %d", se.Status.IdempotencyKeysHeld)
			}
			return hasCondition(se.Status.Conditions, se.Generation, v1alpha1.ConditionIdempotencyWithinBudget, conditionStatus(reason == v1alpha1.ReasonWithinBudget), reason)
		})
	}

	// 40 actions in an instant: a rate of thousands per second, times a 24h window,
	// would be hundreds of millions. The stream holds 40.
	publish(0, 40)
	waitForKeys(40, v1alpha1.ReasonWithinBudget)
	publish(0, 10) // replays: duplicates, not stored
	time.Sleep(time.Second)
	waitForKeys(40, v1alpha1.ReasonWithinBudget)
	publish(40, 20)
	waitForKeys(60, v1alpha1.ReasonOverBudget)
	se, _ := h.sourceEnvironment("stripe-production")
	if msg := condition(se, v1alpha1.ConditionIdempotencyWithinBudget).Message; !strings.Contains(msg, "holds 60 idempotency keys") || !strings.Contains(msg, "24h") || !strings.Contains(msg, "MiB of memory") {
		t.Errorf("message %q", msg)
	}

	// Idempotency off: no keys.
	se.Spec.Idempotency.Enabled = new(false)
	if err := h.c.Update(h.ctx(), se); err != nil {
		t.Fatal(err)
	}
	waitForKeys(0, v1alpha1.ReasonWithinBudget)
}

// TestCountKeysHeld counts only the messages within the duplicate window, on a real
// stream whose window is short enough to see messages leave it.
func TestCountKeysHeld(t *testing.T) {
	_, url := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := inletjs.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js := nc.JetStream()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "A", Subjects: []string{"a.>"}, Duplicates: time.Second, MaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	publish := func(n int, prefix string) {
		for i := range n {
			if _, err := js.Publish(ctx, "a.x", nil, jetstream.WithMsgID(fmt.Sprintf("%s%d", prefix, i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	count := func() int64 {
		t.Helper()
		k, err := countKeysHeld(ctx, js, "A", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if k.stream != "A" || k.window != time.Second {
			t.Errorf("keysHeld %+v", k)
		}
		return k.count
	}

	if n := count(); n != 0 {
		t.Errorf("empty stream: %d keys", n)
	}
	publish(5, "old")
	if n := count(); n != 5 {
		t.Errorf("all within the window: %d keys, want 5", n)
	}
	time.Sleep(1500 * time.Millisecond)
	if n := count(); n != 0 {
		t.Errorf("all older than the window: %d keys, want 0", n)
	}
	publish(3, "new")
	if n := count(); n != 3 {
		t.Errorf("3 of 8 within the window: %d keys", n)
	}
	// Events as the ingress stores them: three actions under one id, on the first.
	for e := range 2 {
		for a := range 3 {
			var opts []jetstream.PublishOpt
			if a == 0 {
				opts = append(opts, jetstream.WithMsgID(fmt.Sprintf("event%d", e)))
			}
			if _, err := js.Publish(ctx, "a.x", nil, opts...); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := count(); n != 5 {
		t.Errorf("3 single messages and 2 events of 3 actions within the window: %d keys, want 5 ids", n)
	}
	if k, err := countKeysHeld(ctx, js, "MISSING", time.Now()); err != nil || k.count != 0 {
		t.Errorf("missing stream: %+v, %v", k, err)
	}
}
