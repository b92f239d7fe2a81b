package ingress

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/ratelimit"
)

// recordingPublisher keeps the log records it is given, as the best-effort writes of
// *jetstream.Client would send them, and the acknowledged ones of a closing writer.
type recordingPublisher struct {
	mu        sync.Mutex
	records   []jetstream.Message
	published chan struct{} // a value for each write
}

func newRecordingPublisher() *recordingPublisher {
	return &recordingPublisher{published: make(chan struct{}, 1024)}
}

func (p *recordingPublisher) record(msgs []jetstream.Message) {
	p.mu.Lock()
	p.records = append(p.records, msgs...)
	p.mu.Unlock()
	p.published <- struct{}{}
}

func (p *recordingPublisher) PublishBestEffort(msgs []jetstream.Message) error {
	p.record(msgs)
	return nil
}

func (p *recordingPublisher) PublishAll(_ context.Context, msgs []jetstream.Message) ([]jetstream.Result, error) {
	p.record(msgs)
	return make([]jetstream.Result, len(msgs)), nil
}

func (p *recordingPublisher) PublishEvents(context.Context, []jetstream.Event) ([]jetstream.Result, error) {
	return nil, errors.New("the log writer publishes no actions")
}

func (p *recordingPublisher) Connected() bool { return true }

func (p *recordingPublisher) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.records)
}

// record is one log record for the writer's queue.
func record(i int) logBatch {
	return func() []jetstream.Message {
		return []jetstream.Message{{Subject: "inlet.logs.events.ns.se.e" + strconv.Itoa(i), Data: []byte(`{}`)}}
	}
}

// A writer waits up to its linger for more records, but the requests waiting for it
// hold their bodies and payloads: logWakeAt of them wake it sooner, so that an
// ingress under load holds no more than that many.
func TestLogWriterWakesWhenRequestsWait(t *testing.T) {
	w := &logWriter{queue: make(chan logBatch, logQueue), wake: make(chan struct{}, 1),
		metrics: newMetrics(prometheus.NewRegistry())}
	for i := range logWakeAt - 1 {
		w.enqueue(record(i))
	}
	if len(w.wake) != 0 {
		t.Fatalf("%d waiting requests woke the writer; want it left to linger below %d", logWakeAt-1, logWakeAt)
	}
	w.enqueue(record(logWakeAt))
	if len(w.wake) != 1 {
		t.Fatalf("%d waiting requests did not wake the writer", logWakeAt)
	}
}

// Woken, the writer writes what it has at once rather than after its linger (an hour
// here: a writer that slept it would fail the test).
func TestLogWriterWritesWhenWoken(t *testing.T) {
	pub := newRecordingPublisher()
	w := newLogWriter(pub, logr.Discard(), newMetrics(prometheus.NewRegistry()), ratelimit.Limit{}, time.Now(), time.Hour)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		w.close(ctx)
	}()
	w.enqueue(record(0))
	w.enqueue(record(1))
	w.wake <- struct{}{}
	deadline := time.After(10 * time.Second)
	for pub.count() < 2 {
		select {
		case <-pub.published:
		case <-deadline:
			t.Fatalf("woken, the writer wrote %d of 2 records in 10s", pub.count())
		}
	}
}

// A server that stops writes what its log writer holds without waiting for the
// linger, so that shutting down takes no longer for it.
func TestLogWriterCloseWritesWithoutLingering(t *testing.T) {
	pub := newRecordingPublisher()
	w := newLogWriter(pub, logr.Discard(), newMetrics(prometheus.NewRegistry()), ratelimit.Limit{}, time.Now(), time.Hour)
	w.enqueue(record(0))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w.close(ctx)
	if ctx.Err() != nil {
		t.Fatal("close waited 10s for the linger")
	}
	if got := pub.count(); got != 1 {
		t.Fatalf("closed, the writer wrote %d records; want 1", got)
	}
}
