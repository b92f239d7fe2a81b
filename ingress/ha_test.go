package ingress_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
	"inlet.dev/inlet/ingress/wire"
)

func TestMain(m *testing.M) {
	// The NATS cluster tests start this binary again as nats-server processes.
	natstest.ServeIfChild()
	// BenchmarkCompare starts it again as its load generator.
	serveLoadIfChild()
	os.Exit(m.Run())
}

// haActions are the actions each event of the cluster tests produces, in the order
// the stream must keep (listed here out of order on purpose).
var haActions = []v1alpha1.Action{
	{TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{Workflow: "welcome", Recipients: "[body.data.object.customer]"}},
	{SetObject: &v1alpha1.SetObjectAction{Collection: "subscriptions", ID: "body.data.object.id"}},
	{IdentifyUser: &v1alpha1.IdentifyUserAction{ID: "body.data.object.customer"}},
}

var haOrder = []string{"identifyUser", "setObject", "triggerWorkflow"}

// haSetup runs two ingress instances (two pods) against a three-server NATS cluster
// of processes, with both streams R3 in file storage.
func haSetup(t *testing.T) (*natstest.ProcessCluster, *harness, []string) {
	cl := natstest.StartProcessCluster(t, 3)
	stripe := sourceCases["stripe"]
	h := &harness{t: t, url: cl.URL(), in: fixture("stripe", stripe.spec, stripe.secret,
		v1alpha1.EventMappingSpec{EventType: stripe.eventType, Actions: haActions})}
	bases := make([]string, 0, 2)
	for i := range 2 {
		c, err := jetstream.Connect(context.Background(), h.url, jetstream.WithName(fmt.Sprintf("ingress-%d", i)),
			jetstream.WithReconnectBackoff(20*time.Millisecond, 250*time.Millisecond))
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		t.Cleanup(c.Close)
		if i == 0 {
			h.client = c
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			for _, cfg := range []natsjs.StreamConfig{
				jetstream.ActionStreamConfig(v1alpha1.DefaultActionStream, time.Hour, 3, natsjs.FileStorage),
				jetstream.LogStreamConfig(v1alpha1.DefaultLogStream, time.Hour, 3, natsjs.FileStorage),
			} {
				if _, err := jetstream.EnsureStream(ctx, c.JetStream(), cfg); err != nil {
					t.Fatalf("stream %s: %v", cfg.Name, err)
				}
			}
			cancel()
		}
		srv := httptest.NewServer(h.newServer(c).Handler())
		t.Cleanup(srv.Close)
		bases = append(bases, srv.URL)
	}
	cl.StreamLeader(v1alpha1.DefaultActionStream, 60*time.Second)
	return cl, h, bases
}

// haLoad is senders posting distinct events to the ingress instances in turn, each
// retrying an event until it is answered 2xx, as a provider does, and now and then
// delivering an accepted event again.
type haLoad struct {
	t        *testing.T
	h        *harness
	bases    []string
	next     atomic.Int64
	stop     atomic.Bool
	wg       sync.WaitGroup
	mu       sync.Mutex
	accepted map[string]bool // event key → answered 2xx
	unavail  atomic.Int64    // 503s
	problems []string
}

func startLoad(t *testing.T, h *harness, bases []string, senders int) *haLoad {
	l := &haLoad{t: t, h: h, bases: bases, accepted: map[string]bool{}}
	for s := range senders {
		l.wg.Go(func() { l.sender(s) })
	}
	return l
}

func (l *haLoad) problem(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.problems) < 20 {
		l.problems = append(l.problems, fmt.Sprintf(format, args...))
	}
}

func (l *haLoad) sender(s int) {
	client := &http.Client{Timeout: 15 * time.Second}
	for !l.stop.Load() {
		n := l.next.Add(1)
		key := fmt.Sprintf("evt_ha_%d", n)
		body := fmt.Sprintf(`{"id":%q,"object":"event","type":"customer.subscription.created","data":{"object":{"id":"sub_%d","customer":"cus_%d"}}}`, key, n, n)
		if !l.deliver(client, s+int(n), key, []byte(body)) {
			return
		}
		if rand.N(10) == 0 { // the provider delivers it again
			l.deliver(client, s+int(n)+1, key, []byte(body))
		}
	}
}

// deliver posts one event until it is answered 2xx, for at most 90 seconds.
func (l *haLoad) deliver(client *http.Client, turn int, key string, body []byte) bool {
	header, path := l.h.sign("stripe-test", body)
	deadline := time.Now().Add(90 * time.Second)
	for attempt := 0; ; attempt++ {
		base := l.bases[(turn+attempt)%len(l.bases)]
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
		req.Header = header.Clone()
		resp, err := client.Do(req)
		if err == nil {
			data, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			switch {
			case resp.StatusCode/100 == 2:
				l.mu.Lock()
				l.accepted[key] = true
				l.mu.Unlock()
				return true
			case resp.StatusCode == http.StatusServiceUnavailable:
				l.unavail.Add(1)
				if resp.Header.Get("Retry-After") == "" {
					l.problem("%s: 503 without Retry-After: %s", key, data)
				}
			default:
				l.problem("%s: answered %d: %s", key, resp.StatusCode, data)
				return false
			}
		}
		if time.Now().After(deadline) {
			l.problem("%s: not accepted within 90s (last error %v)", key, err)
			return false
		}
		time.Sleep(time.Duration(20+rand.N(40)) * time.Millisecond)
	}
}

// finish stops the senders once their events in flight are accepted, and returns
// the keys of the accepted events.
func (l *haLoad) finish() map[string]bool {
	l.stop.Store(true)
	l.wg.Wait()
	for _, p := range l.problems {
		l.t.Error(p)
	}
	return l.accepted
}

// checkStored reads the whole action stream and checks that every accepted event's
// actions are stored exactly once, in the fixed order, with consecutive sequences, and
// that nothing else is stored.
func checkStored(t *testing.T, h *harness, accepted map[string]bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stream natsjs.Stream
	var err error
	for {
		if stream, err = h.client.JetStream().Stream(ctx, v1alpha1.DefaultActionStream); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("action stream: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	type stored struct {
		seq    uint64
		action string
	}
	byKey := map[string][]stored{}
	last := stream.CachedInfo().State.LastSeq
	for seq := uint64(1); seq <= last; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get message %d of %d: %v", seq, last, err)
		}
		var a wire.ActionMessage
		if err := json.Unmarshal(m.Data, &a); err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		byKey[a.Event.IdempotencyKey] = append(byKey[a.Event.IdempotencyKey], stored{seq, a.Action})
	}
	bad := 0
	for key := range accepted {
		got := byKey[key]
		ok := len(got) == len(haOrder)
		for i := 0; ok && i < len(got); i++ {
			ok = got[i].action == haOrder[i] && got[i].seq == got[0].seq+uint64(i)
		}
		if !ok && bad < 10 {
			t.Errorf("event %s answered 2xx: stored %v, want %v once each, in order, at consecutive sequences", key, got, haOrder)
		}
		if !ok {
			bad++
		}
		delete(byKey, key)
	}
	for key, got := range byKey {
		// An event in flight when its sender stopped may be stored without a 2xx
		// having reached the sender; it must still be whole and once.
		if len(got) != len(haOrder) {
			t.Errorf("event %s, never answered 2xx, stored %v: an event is stored whole or not at all", key, got)
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d accepted events not stored exactly once and in order", bad, len(accepted))
	}
	t.Logf("%d events accepted, %d messages in the stream", len(accepted), last)
}

// Under load from senders that retry as providers do, a three-server NATS cluster with
// R3 streams loses its stream leader, then a follower, then every server at once (each
// killed with SIGKILL and started again). Every event answered 2xx has all its actions
// stored exactly once and in order; every 503 carries Retry-After; and before the
// faults there is no 503 at all. INLET_HA_CYCLES=n repeats the leader and follower
// kills n times (a longer run by hand).
func TestNATSClusterFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server NATS cluster")
	}
	cl, h, bases := haSetup(t)

	// Without faults: not one 503, on a replicated stream with duplicate deliveries.
	calm := startLoad(t, h, bases, 8)
	time.Sleep(3 * time.Second)
	accepted := calm.finish()
	if n := calm.unavail.Load(); n > 0 {
		t.Errorf("%d answers 503 in a run without faults, want none", n)
	}
	if len(accepted) == 0 {
		t.Fatal("no event accepted without faults")
	}
	checkStored(t, h, accepted)

	load := startLoad(t, h, bases, 8)
	load.next.Store(1 << 20) // other keys than the calm run's
	cycles := 1
	if v, err := strconv.Atoi(os.Getenv("INLET_HA_CYCLES")); err == nil && v > 0 {
		cycles = v
	}
	for c := range cycles {
		time.Sleep(time.Second)
		leader := cl.StreamLeader(v1alpha1.DefaultActionStream, 60*time.Second)
		t.Logf("cycle %d: killing the stream leader %s", c, cl.Name(leader))
		cl.Kill(leader)
		time.Sleep(2 * time.Second)
		cl.Start(leader)
		newLeader := cl.StreamLeader(v1alpha1.DefaultActionStream, 60*time.Second)
		follower := (newLeader + 1) % 3
		time.Sleep(time.Second)
		t.Logf("cycle %d: killing the follower %s", c, cl.Name(follower))
		cl.Kill(follower)
		time.Sleep(2 * time.Second)
		cl.Start(follower)
		cl.StreamLeader(v1alpha1.DefaultActionStream, 60*time.Second)
	}
	time.Sleep(time.Second)
	t.Log("killing every server")
	for i := range 3 {
		cl.Kill(i)
	}
	for i := range 3 {
		cl.Start(i)
	}
	cl.WaitForLeader(90 * time.Second)
	cl.StreamLeader(v1alpha1.DefaultActionStream, 90*time.Second)
	time.Sleep(2 * time.Second)
	got := load.finish()
	t.Logf("%d answers 503 under faults", load.unavail.Load())
	for k := range accepted {
		got[k] = true
	}
	checkStored(t, h, got)
}
