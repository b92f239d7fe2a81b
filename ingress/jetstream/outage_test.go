package jetstream_test

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
)

// TestPublishAllOutage: while the server is down PublishAll fails fast with
// ErrUnavailable; once it is back on the same port and store, the sender's
// retry succeeds, what was stored before comes back Duplicate, and nothing is
// stored twice.
func TestPublishAllOutage(t *testing.T) {
	s, url := natstest.Start(t)
	c := connect(t, url)
	ensure(t, c, inletjs.ActionStreamConfig(inletjs.DefaultActionStream, 24*time.Hour, 1, jetstream.FileStorage))

	before := actions("evt_before", 5)
	mustPublish(t, c, before)
	all := append(before, actions("evt_during", 5)...)

	restart := natstest.Outage(t, s)
	start := time.Now()
	res, err := c.PublishAll(ctxT(t, 30*time.Second), all)
	elapsed := time.Since(start)
	if !errors.Is(err, inletjs.ErrUnavailable) {
		t.Fatalf("PublishAll during the outage = %v, want ErrUnavailable", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("PublishAll during the outage took %s, want a fast failure", elapsed)
	}
	for i, r := range res {
		if r.Err == nil {
			t.Errorf("result %d acknowledged during the outage: %+v", i, r)
		}
	}
	if c.Connected() {
		t.Error("Connected during the outage")
	}

	restart()
	waitConnected(t, c)
	res = retryPublish(t, c, all, 10*time.Second)
	for i, r := range res {
		if want := i < len(before); r.Duplicate != want {
			t.Errorf("result %d after the outage Duplicate = %v, want %v", i, r.Duplicate, want)
		}
	}
	if got := streamMsgs(t, c, inletjs.DefaultActionStream); got != uint64(len(all)) {
		t.Errorf("stream holds %d messages, want %d", got, len(all))
	}
}

// TestPublishAllOutageUnderLoad takes the server away while publishers are
// busy. No call may outlive its deadline, every failure wraps ErrUnavailable,
// every reported ack must be a stored message with that id, and republishing
// everything afterwards stores each id exactly once.
func TestPublishAllOutageUnderLoad(t *testing.T) {
	s, url := natstest.Start(t)
	c := connect(t, url)
	ensure(t, c, inletjs.ActionStreamConfig(inletjs.DefaultActionStream, 24*time.Hour, 1, jetstream.FileStorage))

	const deadline = 2 * time.Second
	type acked struct {
		id  string
		seq uint64
	}
	var (
		mu       sync.Mutex
		sent     []inletjs.Message
		acks     []acked
		failures int
		slowest  time.Duration
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				msgs := actions(fmt.Sprintf("evt_%d_%d", g, i), 3)
				start := time.Now()
				res, err := c.PublishAll(ctxT(t, deadline), msgs)
				took := time.Since(start)
				mu.Lock()
				sent = append(sent, msgs...)
				slowest = max(slowest, took)
				if err != nil {
					failures++
					if !errors.Is(err, inletjs.ErrUnavailable) {
						t.Errorf("PublishAll: %v, want ErrUnavailable", err)
					}
				}
				for j, r := range res {
					if r.Err == nil {
						acks = append(acks, acked{msgs[j].MsgID, r.Sequence})
					}
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(5 * time.Millisecond) // a sender backing off
				}
			}
		})
	}

	time.Sleep(200 * time.Millisecond)
	restart := natstest.Outage(t, s)
	time.Sleep(300 * time.Millisecond)
	restart()
	waitConnected(t, c)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	if slowest > deadline+250*time.Millisecond {
		t.Errorf("slowest PublishAll took %s with a %s deadline", slowest, deadline)
	}
	if failures == 0 {
		t.Error("no PublishAll failed during the outage")
	}
	t.Logf("%d messages sent, %d acked, %d failed calls, slowest call %s", len(sent), len(acks), failures, slowest)

	ctx := ctxT(t, 30*time.Second)
	stream, err := c.JetStream().Stream(ctx, inletjs.DefaultActionStream)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acks {
		m, err := stream.GetMsg(ctx, a.seq)
		if err != nil {
			t.Fatalf("acked message %s at %d: %v", a.id, a.seq, err)
		}
		if got := m.Header.Get(jetstream.MsgIDHeader); got != a.id {
			t.Fatalf("sequence %d holds id %s, but it was acked for %s", a.seq, got, a.id)
		}
	}

	// The senders retry everything; each id ends up stored once.
	for i := 0; i < len(sent); i += 500 {
		retryPublish(t, c, sent[i:min(i+500, len(sent))], 10*time.Second)
	}
	if got := streamMsgs(t, c, inletjs.DefaultActionStream); got != uint64(len(sent)) {
		t.Errorf("stream holds %d messages for %d ids", got, len(sent))
	}
}

// retryPublish publishes msgs until every one is acknowledged, as a sender
// retrying after 503 would.
func retryPublish(t testing.TB, c *inletjs.Client, msgs []inletjs.Message, within time.Duration) []inletjs.Result {
	t.Helper()
	end := time.Now().Add(within)
	for {
		res, err := c.PublishAll(ctxT(t, 5*time.Second), msgs)
		if err == nil {
			return res
		}
		if time.Now().After(end) {
			t.Fatalf("PublishAll still failing after %s: %v", within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitConnected(t testing.TB, c *inletjs.Client) {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for !c.Connected() {
		if time.Now().After(end) {
			t.Fatal("client did not reconnect within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
