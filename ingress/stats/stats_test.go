package stats_test

import (
	"context"
	"testing"
	"time"

	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
	"inlet.dev/inlet/ingress/stats"
)

func TestSumAddsLiveInstances(t *testing.T) {
	_, url := natstest.Start(t)
	c, err := jetstream.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	kv, err := stats.EnsureBucket(ctx, c.JetStream())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	put := func(ns, se, instance string, r stats.Report) {
		if err := stats.Put(ctx, kv, ns, se, instance, r); err != nil {
			t.Fatal(err)
		}
	}
	put("default", "stripe.prod", "pod-a", stats.Report{EventsReceived: 3, ActionsPublished: 5, LastEventTime: t0, Matched: map[string]int64{"m": 3}})
	put("default", "stripe.prod", "pod-b", stats.Report{EventsReceived: 2, ActionsPublished: 1, LastEventTime: t0.Add(time.Minute), Matched: map[string]int64{"m": 1}})
	put("default", "stripe.prod", "pod-a", stats.Report{EventsReceived: 4, ActionsPublished: 6, LastEventTime: t0, Matched: map[string]int64{"m": 4}}) // a refresh replaces
	put("default", "other", "pod-a", stats.Report{EventsReceived: 100})
	put("other", "stripe.prod", "pod-a", stats.Report{EventsReceived: 100})

	got, err := stats.Sum(ctx, kv, "default", "stripe.prod")
	if err != nil {
		t.Fatal(err)
	}
	if got.EventsReceived != 6 || got.ActionsPublished != 7 || !got.LastEventTime.Equal(t0.Add(time.Minute)) || got.Matched["m"] != 5 {
		t.Errorf("sum = %+v, want 6 events, 7 actions, last at %s, m matched 5 times", got, t0.Add(time.Minute))
	}
	none, err := stats.Sum(ctx, kv, "default", "nobody")
	if err != nil || none.EventsReceived != 0 {
		t.Errorf("sum of nothing = %+v, %v", none, err)
	}
}
