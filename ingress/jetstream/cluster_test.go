package jetstream_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
)

// TestEnsureStreamClusterNeverDowngrades runs EnsureStream as inlet dev and the
// operator do by default (R1, file storage) against streams an operator of a
// three-server cluster created beforehand, and checks that nothing is taken
// from them: R3 stays R3, memory stays memory, placement stays.
func TestEnsureStreamClusterNeverDowngrades(t *testing.T) {
	cl := natstest.StartCluster(t, 3)
	c := connect(t, cl.URL())
	js := c.JetStream()
	ctx := ctxT(t, 60*time.Second)

	r3 := inletjs.ActionStreamConfig(inletjs.DefaultActionStream, 24*time.Hour, 3, jetstream.FileStorage)
	r3.Placement = &jetstream.Placement{Cluster: "inlet-test"}
	if _, err := js.CreateStream(ctx, r3); err != nil {
		t.Fatalf("create R3 stream: %v", err)
	}
	logs := inletjs.LogStreamConfig(inletjs.DefaultLogStream, time.Hour, 3, jetstream.MemoryStorage)
	logs.MaxBytes = -1
	if _, err := js.CreateStream(ctx, logs); err != nil {
		t.Fatalf("create R3 log stream: %v", err)
	}

	if got := ensureOn(t, c, inletjs.ActionStreamConfig(inletjs.DefaultActionStream, 24*time.Hour, 1, jetstream.FileStorage)); got != inletjs.StreamUnchanged {
		t.Errorf("EnsureStream(R1 default) of an R3 action stream = %s, want %s", got, inletjs.StreamUnchanged)
	}
	// The log stream gets its size bound, and keeps its replicas and storage.
	if got := ensureOn(t, c, inletjs.LogStreamConfig(inletjs.DefaultLogStream, time.Hour, 1, jetstream.FileStorage)); got != inletjs.StreamUpdated {
		t.Errorf("EnsureStream(R1 default) of an unbounded R3 log stream = %s, want %s", got, inletjs.StreamUpdated)
	}
	want := map[string]struct {
		replicas int
		storage  jetstream.StorageType
		maxBytes int64
	}{
		inletjs.DefaultActionStream: {3, jetstream.FileStorage, -1},
		inletjs.DefaultLogStream:    {3, jetstream.MemoryStorage, inletjs.DefaultLogMaxBytes},
	}
	for name, w := range want {
		info := streamInfo(t, js, name)
		if info.Config.Replicas != w.replicas || info.Config.Storage != w.storage || info.Config.MaxBytes != w.maxBytes {
			t.Errorf("stream %s is R%d, %s, max bytes %d; want R%d, %s, %d",
				name, info.Config.Replicas, info.Config.Storage, info.Config.MaxBytes, w.replicas, w.storage, w.maxBytes)
		}
		if name == inletjs.DefaultActionStream && (info.Config.Placement == nil || info.Config.Placement.Cluster != "inlet-test") {
			t.Errorf("stream %s placement = %+v, want cluster inlet-test kept", name, info.Config.Placement)
		}
	}
}

// TestEnsureStreamClusterScalesUp checks that an explicit request for more
// replicas and a placement are applied in place.
func TestEnsureStreamClusterScalesUp(t *testing.T) {
	cl := natstest.StartCluster(t, 3)
	c := connect(t, cl.URL())
	js := c.JetStream()

	ensureOn(t, c, inletjs.ActionStreamConfig("ACTIONS", time.Hour, 1, jetstream.FileStorage))
	if info := streamInfo(t, js, "ACTIONS"); info.Config.Replicas != 1 {
		t.Fatalf("new stream is R%d, want R1", info.Config.Replicas)
	}
	cfg := inletjs.ActionStreamConfig("ACTIONS", time.Hour, 3, jetstream.FileStorage)
	cfg.Placement = &jetstream.Placement{Cluster: "inlet-test"}
	if got := ensureOn(t, c, cfg); got != inletjs.StreamUpdated {
		t.Errorf("EnsureStream(R3) of an R1 stream = %s, want %s", got, inletjs.StreamUpdated)
	}
	// Scaled first; the move follows once the scaling is done, as the
	// operator's next reconcile does it.
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := inletjs.EnsureStream(ctxT(t, 30*time.Second), js, cfg)
		if err == nil && res == inletjs.StreamUnchanged {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("EnsureStream(R3, placement) = %s, %v after 60s, want %s", res, err, inletjs.StreamUnchanged)
		}
		time.Sleep(200 * time.Millisecond)
	}
	info := streamInfo(t, js, "ACTIONS")
	if info.Config.Replicas != 3 || info.Config.Placement == nil || info.Config.Placement.Cluster != "inlet-test" {
		t.Errorf("stream is R%d with placement %+v, want R3 in cluster inlet-test", info.Config.Replicas, info.Config.Placement)
	}
}

// TestEnsureStreamClusterPlacementByTags places a stream by server tags only: the
// server's own view of the placement must not make every later EnsureStream an
// update.
func TestEnsureStreamClusterPlacementByTags(t *testing.T) {
	cl := natstest.StartCluster(t, 3)
	c := connect(t, cl.URL())
	cfg := inletjs.ActionStreamConfig("ACTIONS", time.Hour, 1, jetstream.FileStorage)
	cfg.Placement = &jetstream.Placement{Tags: []string{"server:2", "test"}}
	if got := ensureOn(t, c, cfg); got != inletjs.StreamCreated {
		t.Fatalf("EnsureStream = %s, want %s", got, inletjs.StreamCreated)
	}
	if got := ensureOn(t, c, cfg); got != inletjs.StreamUnchanged {
		t.Errorf("EnsureStream again = %s, want %s", got, inletjs.StreamUnchanged)
	}
	info := streamInfo(t, c.JetStream(), "ACTIONS")
	if info.Cluster == nil || info.Cluster.Leader != "inlet-test-2" {
		t.Errorf("stream cluster info = %+v, want it on inlet-test-2 (tag server:2)", info.Cluster)
	}
}

func streamInfo(t testing.TB, js jetstream.JetStream, name string) *jetstream.StreamInfo {
	t.Helper()
	s, err := js.Stream(ctxT(t, 30*time.Second), name)
	if err != nil {
		t.Fatalf("get stream %s: %v", name, err)
	}
	return s.CachedInfo()
}

// TestConcurrentDuplicatesOnR3 sends the same event's actions from many senders at
// once, as a provider retrying on several connections does, to an R3 stream. While
// the first copy of an id is being replicated JetStream answers "duplicate message id
// is in process" (10158) to the others; PublishAll waits and sends again, so every
// send is acknowledged (stored once, the others Duplicate) and none fails.
func TestConcurrentDuplicatesOnR3(t *testing.T) {
	cl := natstest.StartCluster(t, 3)
	senders := make([]*inletjs.Client, 4)
	for i := range senders {
		// Each on its own connection, to a different server where possible.
		senders[i] = connect(t, cl.Servers[i%len(cl.Servers)].ClientURL())
	}
	ensureOn(t, senders[0], inletjs.ActionStreamConfig(inletjs.DefaultActionStream, time.Hour, 3, jetstream.FileStorage))

	const events, copies, perEvent = 40, 8, 3
	var wg sync.WaitGroup
	var failed, stored atomic.Int64
	for e := range events {
		msgs := actions(fmt.Sprintf("evt-%d", e), perEvent)
		for k := range copies {
			wg.Go(func() {
				res, err := senders[k%len(senders)].PublishAll(ctxT(t, 20*time.Second), msgs)
				if err != nil {
					failed.Add(1)
					t.Errorf("event %d copy %d: %v", e, k, err)
					return
				}
				for _, r := range res {
					if !r.Duplicate {
						stored.Add(1)
					}
				}
			})
		}
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d sends failed", failed.Load(), events*copies)
	}
	if got := streamMsgs(t, senders[0], inletjs.DefaultActionStream); got != events*perEvent {
		t.Errorf("stream holds %d messages, want %d (each action once)", got, events*perEvent)
	}
	if got := stored.Load(); got != events*perEvent {
		t.Errorf("%d acks said stored, want %d: every other copy is a Duplicate", got, events*perEvent)
	}
}

// ensureOn is ensure with room for a cluster's elections on a busy machine.
func ensureOn(t testing.TB, c *inletjs.Client, cfg jetstream.StreamConfig) inletjs.EnsureResult {
	t.Helper()
	res, err := inletjs.EnsureStream(ctxT(t, 30*time.Second), c.JetStream(), cfg)
	if err != nil {
		t.Fatalf("EnsureStream(%s): %v", cfg.Name, err)
	}
	return res
}
