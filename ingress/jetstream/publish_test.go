package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
)

func TestPublishAll(t *testing.T) {
	c, _ := setup(t)
	ctx := ctxT(t, 30*time.Second)
	stream, err := c.JetStream().Stream(ctx, inletjs.DefaultActionStream)
	if err != nil {
		t.Fatal(err)
	}

	msgs := append(actions("evt_1", 3),
		inletjs.Message{
			Subject: inletjs.ActionSubject("development", "identifyUser"),
			MsgID:   inletjs.MsgID("evt_1", "identify"),
			Data:    []byte(`{"id":"u1"}`),
			Header:  nats.Header{"Inlet-Event-Type": []string{"user.created"}},
		},
		inletjs.Message{ // no id: stored on every publish
			Subject: inletjs.ActionSubject("development", "setTenant"),
			Data:    []byte(`{"tenant":"t1"}`),
		},
	)
	first := mustPublish(t, c, msgs)
	if len(first) != len(msgs) {
		t.Fatalf("got %d results for %d messages", len(first), len(msgs))
	}
	for i, r := range first {
		if r.Err != nil || r.Duplicate || r.Stream != inletjs.DefaultActionStream || r.Sequence != uint64(i+1) {
			t.Errorf("result %d = %+v, want stored in %s at sequence %d", i, r, inletjs.DefaultActionStream, i+1)
			continue
		}
		m, err := stream.GetMsg(ctx, r.Sequence)
		if err != nil {
			t.Fatalf("get message %d: %v", r.Sequence, err)
		}
		if m.Subject != msgs[i].Subject || string(m.Data) != string(msgs[i].Data) || m.Header.Get(jetstream.MsgIDHeader) != msgs[i].MsgID {
			t.Errorf("message %d stored as %q %q id %q, want %q %q id %q", i,
				m.Subject, m.Data, m.Header.Get(jetstream.MsgIDHeader), msgs[i].Subject, msgs[i].Data, msgs[i].MsgID)
		}
		for k, v := range msgs[i].Header {
			if m.Header.Get(k) != v[0] {
				t.Errorf("message %d header %s = %q, want %q", i, k, m.Header.Get(k), v[0])
			}
		}
	}

	// The sender retries: everything with an id comes back Duplicate,
	// pointing at the stored copy.
	again := mustPublish(t, c, msgs)
	for i, r := range again {
		withID := msgs[i].MsgID != ""
		if r.Duplicate != withID {
			t.Errorf("retry result %d Duplicate = %v, want %v", i, r.Duplicate, withID)
		}
		if withID && r.Sequence != first[i].Sequence {
			t.Errorf("retry result %d sequence = %d, want the original %d", i, r.Sequence, first[i].Sequence)
		}
	}
	if got, want := streamMsgs(t, c, inletjs.DefaultActionStream), uint64(len(msgs)+1); got != want {
		t.Errorf("stream holds %d messages, want %d", got, want)
	}

	if res, err := c.PublishAll(ctx, nil); err != nil || len(res) != 0 {
		t.Errorf("PublishAll(nil) = %v, %v; want no results and no error", res, err)
	}
}

func TestPublishAllLeavesHeaderAlone(t *testing.T) {
	c, _ := setup(t)
	hdr := nats.Header{"A": []string{"1"}}
	orig := maps.Clone(hdr)
	msg := inletjs.Message{Subject: inletjs.ActionSubject("p", "x"), MsgID: "id-1", Header: hdr}
	mustPublish(t, c, []inletjs.Message{msg})
	if !maps.EqualFunc(hdr, orig, func(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }) {
		t.Errorf("header changed to %v", hdr)
	}
}

// TestPublishAllConcurrentDuplicates publishes the same events from many
// goroutines, over one client and over two (two ingress instances): each id
// is stored exactly once, exactly one publish of it is not Duplicate, and all
// of them report the same sequence.
func TestPublishAllConcurrentDuplicates(t *testing.T) {
	tests := map[string]struct {
		clients, goroutines, events int
	}{
		"one client, 32 goroutines":  {clients: 1, goroutines: 32, events: 20},
		"two clients, 16 goroutines": {clients: 2, goroutines: 16, events: 20},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, url := setup(t)
			clients := []*inletjs.Client{c}
			for len(clients) < tc.clients {
				clients = append(clients, connect(t, url))
			}
			var msgs []inletjs.Message
			for e := range tc.events {
				msgs = append(msgs, actions(fmt.Sprintf("evt_%d", e), 3)...)
			}

			results := make([][]inletjs.Result, tc.clients*tc.goroutines)
			var wg sync.WaitGroup
			for i := range results {
				wg.Go(func() {
					client := clients[i%len(clients)]
					res, err := client.PublishAll(ctxT(t, 20*time.Second), msgs)
					if err != nil {
						t.Errorf("publisher %d: %v", i, err)
					}
					results[i] = res
				})
			}
			wg.Wait()
			if t.Failed() {
				return
			}

			for j, m := range msgs {
				stored, seqs := 0, map[uint64]bool{}
				for _, res := range results {
					if !res[j].Duplicate {
						stored++
					}
					seqs[res[j].Sequence] = true
				}
				if stored != 1 || len(seqs) != 1 {
					t.Errorf("id %s: stored by %d publishes with sequences %v, want 1 and one sequence", m.MsgID, stored, seqs)
				}
			}
			if got := streamMsgs(t, c, inletjs.DefaultActionStream); got != uint64(len(msgs)) {
				t.Errorf("stream holds %d messages, want %d", got, len(msgs))
			}
		})
	}
}

func TestPublishAllFailures(t *testing.T) {
	c, url := setup(t)
	// A subscriber that never answers: the publish is delivered but no ack
	// ever comes.
	if _, err := c.Conn().Subscribe("blackhole.>", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := c.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	closed := connect(t, url)
	closed.Close()
	tight := connect(t, url, inletjs.WithMaxPending(1))

	ok := actions("evt_ok", 1)[0]
	expired := func() context.Context {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		cancel()
		return ctx
	}
	canceled := func() context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx
	}

	tests := map[string]struct {
		client      *inletjs.Client
		ctx         func() context.Context
		msgs        []inletjs.Message
		within      time.Duration
		unavailable bool
		is          []error
		acked       []bool
	}{
		"no stream captures the subject": {
			msgs:        []inletjs.Message{{Subject: "nostream.x", MsgID: "a"}},
			within:      3 * time.Second,
			unavailable: true,
			is:          []error{jetstream.ErrNoStreamResponse},
			acked:       []bool{false},
		},
		"no ack before the deadline": {
			ctx:         func() context.Context { return ctxT(t, 300*time.Millisecond) },
			msgs:        []inletjs.Message{ok, {Subject: "blackhole.x", MsgID: "b"}},
			within:      time.Second,
			unavailable: true,
			is:          []error{context.DeadlineExceeded},
			acked:       []bool{true, false},
		},
		"deadline already passed": {
			ctx:         expired,
			msgs:        []inletjs.Message{ok},
			within:      100 * time.Millisecond,
			unavailable: true,
			is:          []error{context.DeadlineExceeded},
			acked:       []bool{false},
		},
		"canceled": {
			ctx:    canceled,
			msgs:   []inletjs.Message{ok},
			within: 100 * time.Millisecond,
			is:     []error{context.Canceled},
			acked:  []bool{false},
		},
		"too many pending acks: sent messages are not reported acked": {
			client:      tight,
			ctx:         func() context.Context { return ctxT(t, 300*time.Millisecond) },
			msgs:        []inletjs.Message{{Subject: "blackhole.y", MsgID: "e"}, ok, ok},
			within:      time.Second,
			unavailable: true,
			is:          []error{jetstream.ErrTooManyStalledMsgs},
			acked:       []bool{false, false, false},
		},
		"closed client": {
			client:      closed,
			msgs:        []inletjs.Message{ok, ok},
			within:      100 * time.Millisecond,
			unavailable: true,
			acked:       []bool{false, false},
		},
		"invalid subject is not retryable": {
			msgs:   []inletjs.Message{ok, {Subject: "bad subject", MsgID: "c"}},
			within: time.Second,
			is:     []error{nats.ErrBadSubject},
			acked:  []bool{true, false},
		},
		"payload over the server's limit is not retryable": {
			msgs:   []inletjs.Message{{Subject: ok.Subject, MsgID: "d", Data: make([]byte, 2<<20)}, ok},
			within: time.Second,
			is:     []error{nats.ErrMaxPayload},
			acked:  []bool{false, true},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			client := c
			if tc.client != nil {
				client = tc.client
			}
			ctx := ctxT(t, 20*time.Second)
			if tc.ctx != nil {
				ctx = tc.ctx()
			}
			start := time.Now()
			res, err := client.PublishAll(ctx, tc.msgs)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("PublishAll succeeded, want an error")
			}
			if elapsed > tc.within {
				t.Errorf("PublishAll took %s, want at most %s", elapsed, tc.within)
			}
			if got := errors.Is(err, inletjs.ErrUnavailable); got != tc.unavailable {
				t.Errorf("errors.Is(%v, ErrUnavailable) = %v, want %v", err, got, tc.unavailable)
			}
			for _, target := range tc.is {
				if !errors.Is(err, target) {
					t.Errorf("error %v does not wrap %v", err, target)
				}
			}
			if len(res) != len(tc.msgs) {
				t.Fatalf("got %d results for %d messages", len(res), len(tc.msgs))
			}
			for i, r := range res {
				if acked := r.Err == nil; acked != tc.acked[i] {
					t.Errorf("result %d = %+v, want acked=%v", i, r, tc.acked[i])
				}
				if r.Err == nil && (r.Stream == "" || r.Sequence == 0) {
					t.Errorf("result %d acked without a stream sequence: %+v", i, r)
				}
			}
		})
	}
}

func TestConnect(t *testing.T) {
	t.Run("no server: fails when ctx ends", func(t *testing.T) {
		port := freePort(t)
		start := time.Now()
		_, err := inletjs.Connect(ctxT(t, 300*time.Millisecond), fmt.Sprintf("nats://user:s3cret@127.0.0.1:%d", port))
		if !errors.Is(err, inletjs.ErrUnavailable) {
			t.Fatalf("Connect = %v, want ErrUnavailable", err)
		}
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("Connect took %s", elapsed)
		}
		if contains(err.Error(), "s3cret") {
			t.Errorf("error %q shows the password", err)
		}
	})

	t.Run("background connect: ready once the server is up", func(t *testing.T) {
		port := freePort(t)
		c, err := inletjs.Connect(ctxT(t, time.Second), fmt.Sprintf("nats://127.0.0.1:%d", port),
			inletjs.WithBackgroundConnect(), inletjs.WithReconnectBackoff(10*time.Millisecond, 50*time.Millisecond))
		if err != nil {
			t.Fatalf("Connect: %v", err)
		}
		defer c.Close()
		if c.Connected() {
			t.Fatal("Connected before any server runs")
		}
		if _, err := c.PublishAll(ctxT(t, 5*time.Second), actions("evt", 1)); !errors.Is(err, inletjs.ErrUnavailable) {
			t.Errorf("PublishAll before connecting = %v, want ErrUnavailable", err)
		}
		natstest.StartAt(t, port, t.TempDir())
		waitConnected(t, c)
		ensure(t, c, inletjs.ActionStreamConfig("A", time.Hour, 1, jetstream.FileStorage))
		mustPublish(t, c, actions("evt", 1))
	})

	t.Run("in process", func(t *testing.T) {
		s, err := inletjs.RunEmbedded(inletjs.EmbeddedOptions{StoreDir: t.TempDir(), NoLog: true, InProcessOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { natstest.Stop(s) })
		c := connect(t, "", inletjs.WithInProcessServer(s))
		if !c.Connected() {
			t.Fatal("not connected")
		}
		ensure(t, c, inletjs.ActionStreamConfig("A", time.Hour, 1, jetstream.MemoryStorage))
		res := mustPublish(t, c, actions("evt", 2))
		if res[1].Sequence != 2 {
			t.Errorf("results %+v", res)
		}
	})

	t.Run("embedded server needs a store", func(t *testing.T) {
		if _, err := inletjs.RunEmbedded(inletjs.EmbeddedOptions{NoLog: true}); err == nil {
			t.Error("RunEmbedded without a store directory succeeded")
		}
	})
}
