package ingress_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
	"inlet.dev/inlet/ingress/sign"
	"inlet.dev/inlet/internal/testevents"
)

// benchConcurrency is the number of concurrent connections the full-path benchmark
// keeps busy, as a load tool would.
const benchConcurrency = 64

// benchMapping is the comparison gateway's work: a condition and a trigger with two
// fields, three CEL programs in all.
func benchMapping() v1alpha1.EventMappingSpec {
	return v1alpha1.EventMappingSpec{
		EventType: "customer.subscription.deleted",
		When:      "body.data.object.cancel_at_period_end == false",
		Actions: []v1alpha1.Action{{TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{
			Workflow:   "win-back",
			Recipients: "[body.data.object.customer]",
			Data:       `{"plan": body.data.object.plan.id, "seats": body.data.object.quantity}`,
		}}},
	}
}

// BenchmarkFullPath measures the whole data path over HTTP on loopback with 64
// concurrent connections: Stripe verification, JSON parsing, three CEL programs and a
// JetStream publish waited for until acknowledged; and, in the same run, a publish-only
// baseline of the same NATS setup. Reported: events/s and p50/p99 latency in ms.
func BenchmarkFullPath(b *testing.B) {
	// The ingress binary tunes the runtime at start; so does this benchmark, to measure
	// what runs.
	ingress.TuneRuntime()
	for _, transport := range []string{"inprocess", "tcp"} {
		b.Run(transport+"/full", func(b *testing.B) { benchFullPath(b, transport) })
		b.Run(transport+"/publish_only", func(b *testing.B) { benchPublishOnly(b, transport) })
	}
}

func benchNATS(b *testing.B, transport string) *jetstream.Client {
	srv, url := natstest.Start(b)
	var opts []jetstream.Option
	if transport == "inprocess" {
		opts = append(opts, jetstream.WithInProcessServer(srv))
	}
	c, err := jetstream.Connect(context.Background(), url, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	ctx := context.Background()
	for _, cfg := range []natsjs.StreamConfig{
		jetstream.ActionStreamConfig(v1alpha1.DefaultActionStream, 24*time.Hour, 1, natsjs.FileStorage),
		jetstream.LogStreamConfig(v1alpha1.DefaultLogStream, time.Hour, 1, natsjs.FileStorage),
	} {
		if _, err := jetstream.EnsureStream(ctx, c.JetStream(), cfg); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

func benchFullPath(b *testing.B, transport string) {
	client := benchNATS(b, transport)
	in := fixture("stripe", v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}, "whsec_bench", benchMapping())
	srv := ingress.NewServer(ingress.Options{Publisher: client, Logger: logr.Discard()})
	srv.SetSnapshot(config.Build(in))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.ServeListener(ctx, ln, 5*time.Second); close(done) }()
	defer func() { cancel(); <-done }()
	url := "http://" + ln.Addr().String() + "/e/default/stripe-test"

	// Sign every request up front, so the load generator costs little of the 2 cores.
	reqs := make([]signedRequest, b.N)
	now := time.Now()
	for i := range reqs {
		body := fmt.Appendf(nil, testevents.Stripe, "evt_"+transport+strconv.FormatInt(now.UnixNano(), 36)+"x"+strconv.FormatInt(int64(i), 36))
		reqs[i] = signedRequest{body, sign.Stripe("whsec_bench", now, body)}
	}
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchConcurrency, MaxConnsPerHost: benchConcurrency}}
	latencies := runConcurrently(b, func(i int) error {
		return post(httpClient, loadCommand{URL: url, Status: http.StatusOK}, reqs[i])
	})
	reportLatencies(b, latencies)
}

func benchPublishOnly(b *testing.B, transport string) {
	client := benchNATS(b, transport)
	data := []byte(`{"action":"triggerWorkflow","params":{"workflow":"win-back","recipients":["cus_QxSampleAda"],"data":{"plan":"price_pro_monthly","seats":3}}}`)
	prefix := fmt.Sprintf("bench-%s-%d-", transport, time.Now().UnixNano())
	latencies := runConcurrently(b, func(i int) error {
		_, err := client.PublishAll(context.Background(), []jetstream.Message{{
			Subject: jetstream.ActionSubject("production", "triggerWorkflow"), MsgID: prefix + fmt.Sprint(i), Data: data,
		}})
		return err
	})
	reportLatencies(b, latencies)
}

// runConcurrently runs op for 0..b.N-1 on benchConcurrency workers and returns each
// op's latency.
func runConcurrently(b *testing.B, op func(i int) error) []time.Duration {
	latencies := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	b.ResetTimer()
	for range benchConcurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				start := time.Now()
				if err := op(i); err != nil {
					failed.Store(&err)
					return
				}
				latencies[i] = time.Since(start)
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	return latencies
}

func reportLatencies(b *testing.B, latencies []time.Duration) {
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[min(len(latencies)-1, int(float64(len(latencies))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// discardPublisher acknowledges everything at once: it isolates the data path's own
// cost (verification, parsing, CEL, encoding) from JetStream's.
type discardPublisher struct{}

func (d discardPublisher) PublishEvents(ctx context.Context, events []jetstream.Event) ([]jetstream.Result, error) {
	var msgs []jetstream.Message
	for _, ev := range events {
		msgs = append(msgs, ev.Messages...)
	}
	return d.PublishAll(ctx, msgs)
}

func (discardPublisher) PublishAll(_ context.Context, msgs []jetstream.Message) ([]jetstream.Result, error) {
	return make([]jetstream.Result, len(msgs)), nil
}
func (discardPublisher) Connected() bool { return true }

// BenchmarkMappings measures one event through verification, parsing and mapping with
// 1, 100 and 10,000 EventMappings installed (one matching, the rest for other event
// types): the cost must not grow with the number of mappings.
func BenchmarkMappings(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("mappings=%d", n), func(b *testing.B) {
			mappings := []v1alpha1.EventMappingSpec{benchMapping()}
			for i := 1; i < n; i++ {
				m := benchMapping()
				m.EventType = fmt.Sprintf("other.event.%d", i)
				mappings = append(mappings, m)
			}
			in := fixture("stripe", v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}, "whsec_bench", mappings...)
			// The same event every time: with no settled events remembered, each one
			// runs the mappings, as a new event does.
			srv := ingress.NewServer(ingress.Options{Publisher: discardPublisher{}, Logger: logr.Discard(), SettledEvents: -1})
			snap := config.Build(in)
			if len(snap.Problems) > 0 {
				b.Fatal(snap.Problems)
			}
			srv.SetSnapshot(snap)
			handler := srv.Handler()
			body := fmt.Appendf(nil, testevents.Stripe, "evt_mappings")
			header := sign.Stripe("whsec_bench", time.Now(), body)
			runtime.GC() // collect what compiling the mappings left behind, outside the timing
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/e/default/stripe-test", bytes.NewReader(body))
				req.Header.Set("Stripe-Signature", header)
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
