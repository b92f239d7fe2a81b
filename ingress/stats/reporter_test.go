package stats_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-logr/logr"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
	"inlet.dev/inlet/ingress/stats"
)

func TestBookKeepsRunningTotals(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	b := stats.NewBook(t0)
	a := types.NamespacedName{Namespace: "ns", Name: "a"}
	b.Record(a, t0.Add(2*time.Minute), 2, 3)
	b.Record(a, t0.Add(time.Minute), 1, 0) // an earlier event answered later
	b.Matched(a, "m")
	b.Matched(a, "m")

	got := b.Report(a)
	if got.EventsReceived != 3 || got.ActionsPublished != 3 || got.Matched["m"] != 2 ||
		!got.LastEventTime.Equal(t0.Add(2*time.Minute)) || !got.Since.Equal(t0) {
		t.Errorf("report = %+v", got)
	}
	got.Matched["m"] = 100 // a copy: the book is not changed
	if b.Report(a).Matched["m"] != 2 {
		t.Error("changing a report changed the book")
	}
	if none := b.Report(types.NamespacedName{Namespace: "ns", Name: "b"}); none.EventsReceived != 0 || !none.Since.Equal(t0) {
		t.Errorf("report of a SourceEnvironment that received nothing = %+v", none)
	}
}

// TestReporterIsTheOnlyWriter reports an instance's book: nothing before the first
// configuration, then every SourceEnvironment served. Readers never create the
// bucket.
func TestReporterIsTheOnlyWriter(t *testing.T) {
	_, url := natstest.Start(t)
	ctx := context.Background()
	nc, err := jetstream.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js := nc.JetStream()

	a := types.NamespacedName{Namespace: "ns", Name: "a"}
	b := types.NamespacedName{Namespace: "ns", Name: "b"}
	book := stats.NewBook(time.Now())
	book.Record(a, time.Now(), 4, 5)
	book.Matched(a, "m")
	var served []types.NamespacedName
	configured := false
	r := &stats.Reporter{Book: book, NATS: nc, Instance: "pod-1", Logger: logr.Discard(),
		Served: func() ([]types.NamespacedName, bool) { return served, configured }}

	// Readers find nothing, and create nothing.
	if got, err := stats.Read(ctx, js, "ns", "a"); err != nil || got.EventsReceived != 0 {
		t.Fatalf("Read before any report = %+v, %v", got, err)
	}
	if err := stats.Remove(ctx, js, "ns", "a"); err != nil {
		t.Fatalf("Remove before any report: %v", err)
	}
	r.Flush(ctx) // no configuration yet
	if _, err := js.KeyValue(ctx, stats.Bucket); !errors.Is(err, natsjs.ErrBucketNotFound) {
		t.Fatalf("bucket after reads and a flush without configuration: %v, want none", err)
	}

	served, configured = []types.NamespacedName{a, b}, true
	r.Flush(ctx)
	got, err := stats.Read(ctx, js, "ns", "a")
	if err != nil || got.EventsReceived != 4 || got.ActionsPublished != 5 || got.Matched["m"] != 1 {
		t.Errorf("Read a = %+v, %v; want 4 events, 5 actions, m matched once", got, err)
	}
	if got, err := stats.Read(ctx, js, "ns", "b"); err != nil || got.EventsReceived != 0 {
		t.Errorf("Read b = %+v, %v", got, err)
	}

	// Running totals: only what grew is added.
	book.Record(a, time.Now(), 1, 1)
	r.Flush(ctx)
	if got, _ := stats.Read(ctx, js, "ns", "a"); got.EventsReceived != 5 {
		t.Errorf("after a second flush: %d events, want 5", got.EventsReceived)
	}
	if err := stats.Remove(ctx, js, "ns", "a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := stats.Read(ctx, js, "ns", "a"); got.EventsReceived != 0 {
		t.Errorf("after Remove: %d events", got.EventsReceived)
	}
}

func TestCacheReusesYoungReadings(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	a := types.NamespacedName{Namespace: "ns", Name: "a"}
	b := types.NamespacedName{Namespace: "ns", Name: "b"}
	c := &stats.Cache{MaxAge: time.Minute}
	if _, ok := c.Get(a, t0); ok {
		t.Fatal("a reading before any Put")
	}
	c.Put(a, stats.Report{EventsReceived: 3}, t0)
	if r, ok := c.Get(a, t0.Add(59*time.Second)); !ok || r.EventsReceived != 3 {
		t.Errorf("young reading = %+v, %v", r, ok)
	}
	if _, ok := c.Get(a, t0.Add(time.Minute)); ok {
		t.Error("a reading MaxAge old is reused")
	}
	// Putting another key forgets the stale one; a fresh Put of it is reused again.
	c.Put(b, stats.Report{EventsReceived: 1}, t0.Add(2*time.Minute))
	if _, ok := c.Get(a, t0.Add(2*time.Minute)); ok {
		t.Error("stale reading kept")
	}
	if r, ok := c.Get(b, t0.Add(2*time.Minute)); !ok || r.EventsReceived != 1 {
		t.Errorf("b = %+v, %v", r, ok)
	}
}
