package stats_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
	"inlet.dev/inlet/ingress/stats"
)

// bucket starts a NATS server and returns its JetStream and the stats bucket.
func bucket(t *testing.T) (natsjs.JetStream, natsjs.KeyValue) {
	t.Helper()
	_, url := natstest.Start(t)
	c, err := jetstream.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kv, err := stats.EnsureBucket(context.Background(), c.JetStream())
	if err != nil {
		t.Fatal(err)
	}
	return c.JetStream(), kv
}

func sum(t *testing.T, kv natsjs.KeyValue, ns, se string) stats.Report {
	t.Helper()
	r, err := stats.Sum(context.Background(), kv, ns, se)
	if err != nil {
		t.Fatalf("sum: %v", err)
	}
	return r
}

func TestSumAddsInstances(t *testing.T) {
	_, kv := bucket(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	put := func(ns, se, instance string, r stats.Report) {
		t.Helper()
		if err := stats.Put(ctx, kv, ns, se, instance, r); err != nil {
			t.Fatal(err)
		}
	}
	put("default", "stripe.prod", "pod-a", stats.Report{EventsReceived: 3, ActionsPublished: 5, LastEventTime: t0, Matched: map[string]int64{"m": 3}, Since: t0})
	put("default", "stripe.prod", "pod-b", stats.Report{EventsReceived: 2, ActionsPublished: 1, LastEventTime: t0.Add(time.Minute), Matched: map[string]int64{"m": 1}, Since: t0})
	put("default", "stripe.prod", "pod-a", stats.Report{EventsReceived: 4, ActionsPublished: 6, LastEventTime: t0, Matched: map[string]int64{"m": 4}, Since: t0}) // running totals: adds 1, 1, 1
	put("default", "other", "pod-a", stats.Report{EventsReceived: 100, Since: t0})
	put("other", "stripe.prod", "pod-a", stats.Report{EventsReceived: 100, Since: t0})

	got := sum(t, kv, "default", "stripe.prod")
	if got.EventsReceived != 6 || got.ActionsPublished != 7 || !got.LastEventTime.Equal(t0.Add(time.Minute)) || got.Matched["m"] != 5 {
		t.Errorf("sum = %+v, want 6 events, 7 actions, last at %s, m matched 5 times", got, t0.Add(time.Minute))
	}
	if none := sum(t, kv, "default", "nobody"); none.EventsReceived != 0 {
		t.Errorf("sum of nothing = %+v", none)
	}
}

// TestTotalsSurviveReplacedInstances plays a rollout: two pods count, one is deleted
// and a new one takes its place, a pod restarts under its own name, and the
// Deployment is scaled down to nothing. The totals never go backwards and lose
// nothing.
func TestTotalsSurviveReplacedInstances(t *testing.T) {
	_, kv := bucket(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var last int64
	step := func(what string, instance string, r stats.Report, want int64) {
		t.Helper()
		if err := stats.Put(ctx, kv, "ns", "se", instance, r); err != nil {
			t.Fatal(err)
		}
		got := sum(t, kv, "ns", "se")
		if got.EventsReceived < last {
			t.Errorf("%s: events went backwards from %d to %d", what, last, got.EventsReceived)
		}
		if got.EventsReceived != want {
			t.Errorf("%s: events = %d, want %d", what, got.EventsReceived, want)
		}
		last = got.EventsReceived
	}
	step("pod a counts", "pod-a", stats.Report{EventsReceived: 10, Since: start}, 10)
	step("pod b counts", "pod-b", stats.Report{EventsReceived: 5, Since: start}, 15)
	step("pod a counts more", "pod-a", stats.Report{EventsReceived: 12, Since: start}, 17)
	// pod-a is deleted; its last report was 12. pod-c replaces it and starts from zero.
	step("pod c replaces pod a", "pod-c", stats.Report{EventsReceived: 0, Since: start.Add(time.Minute)}, 17)
	step("pod c counts", "pod-c", stats.Report{EventsReceived: 3, Since: start.Add(time.Minute)}, 20)
	// pod-b's container restarts: same name, new start, counters from zero.
	step("pod b restarted", "pod-b", stats.Report{EventsReceived: 1, Since: start.Add(2 * time.Minute)}, 21)
	// A report of pod-b's earlier run arriving late changes nothing.
	step("late report of the old pod b", "pod-b", stats.Report{EventsReceived: 6, Since: start}, 21)
	// Repeating a report adds nothing.
	step("pod c again", "pod-c", stats.Report{EventsReceived: 3, Since: start.Add(time.Minute)}, 21)
}

// TestConcurrentInstancesLoseNothing has many instances report at once: the
// compare-and-set keeps every count.
func TestConcurrentInstancesLoseNothing(t *testing.T) {
	_, kv := bucket(t)
	ctx := context.Background()
	since := time.Now()
	const instances, rounds = 6, 5
	var wg sync.WaitGroup
	errs := make(chan error, instances*rounds)
	for i := range instances {
		wg.Go(func() {
			for n := 1; n <= rounds; n++ {
				r := stats.Report{EventsReceived: int64(n), ActionsPublished: int64(2 * n), Matched: map[string]int64{"m": int64(n)}, Since: since}
				if err := stats.Put(ctx, kv, "ns", "se", fmt.Sprintf("pod-%d", i), r); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := sum(t, kv, "ns", "se")
	if got.EventsReceived != instances*rounds || got.ActionsPublished != 2*instances*rounds || got.Matched["m"] != instances*rounds {
		t.Errorf("sum = %+v, want %d events, %d actions, m %d", got, instances*rounds, 2*instances*rounds, instances*rounds)
	}
}

func TestDeleteAndOldBuckets(t *testing.T) {
	js, kv := bucket(t)
	ctx := context.Background()
	if err := stats.Put(ctx, kv, "ns", "se", "pod-a", stats.Report{EventsReceived: 4, Since: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// A key an earlier version wrote per instance.
	if _, err := kv.Put(ctx, "ns.se.pod-old", []byte(`{"eventsReceived":9}`)); err != nil {
		t.Fatal(err)
	}
	if err := stats.Delete(ctx, kv, "ns", "se"); err != nil {
		t.Fatal(err)
	}
	if got := sum(t, kv, "ns", "se"); got.EventsReceived != 0 {
		t.Errorf("after Delete: %+v", got)
	}
	if _, err := kv.Get(ctx, "ns.se.pod-old"); err == nil {
		t.Error("the old per-instance key is still there")
	}
	// Counting starts over after a Delete.
	if err := stats.Put(ctx, kv, "ns", "se", "pod-a", stats.Report{EventsReceived: 4, Since: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if got := sum(t, kv, "ns", "se"); got.EventsReceived != 4 {
		t.Errorf("after a new report: %+v", got)
	}

	// A bucket of an earlier version expired its keys after two minutes; it is changed
	// to keep them, or totals would vanish while no instance runs.
	if err := js.DeleteKeyValue(ctx, stats.Bucket); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateKeyValue(ctx, natsjs.KeyValueConfig{Bucket: stats.Bucket, TTL: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	kv, err := stats.EnsureBucket(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != 0 {
		t.Errorf("bucket TTL = %s, want none", st.TTL())
	}
}
