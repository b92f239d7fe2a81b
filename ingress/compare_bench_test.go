package ingress_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"cel.dev/cel-go/cel"
	"github.com/go-logr/logr"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
)

// BenchmarkCompare is the side-by-side comparison docs/benchmarks.md records: inlet,
// a naive gateway, an HTTP-only floor and a publish-only ceiling, in one process,
// against one nats-server process, driven by one load generator in a process of its
// own (concurrent HTTP clients over keep-alive connections; loader_bench_test.go)
// with the same signed 1.5 KB Stripe events, at
// 1, 8 and 64 connections, the gateways' runs interleaved round after round so that
// the machine's drift touches all of them alike.
//
//   - inlet: the ingress as the binary runs it (TuneRuntime, event log with
//     payloads, idempotency), its actions acknowledged by JetStream before it answers.
//   - naive: what one would write first: verify the Stripe HMAC, json.Unmarshal
//     into a map, three CEL programs (the same when, recipients and data inlet
//     evaluates), json.Marshal the action and a synchronous JetStream publish with
//     a message id, then 200. No event log, no metrics.
//   - floor: read the body, answer 202: the HTTP server alone.
//   - ceiling: read the body, publish one message with a message id, wait for
//     JetStream's ack, answer 200: what every gateway that answers after the ack
//     must do, and nothing else, so the most any of them can reach here.
//   - replay: inlet again, sent events it has already stored (every action a
//     duplicate), for the CPU a replay costs against a new event: at most
//     replayEvents distinct events, each sent as often as the run needs.
//
// Each sub-benchmark reports events/s, CPU µs per request of this process (the
// gateway: the floor's figure is the HTTP server's), of the NATS process and of the
// load generator's, and p50/p99 latency. At the end it prints tables of the medians
// over the rounds, the ratios being the medians of each round's ratios, and the
// targets. INLET_BENCH_ROUNDS sets the rounds (default 3).
func BenchmarkCompare(b *testing.B) {
	ingress.TuneRuntime()
	rounds := 3
	if n, err := strconv.Atoi(os.Getenv("INLET_BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	cmp := newComparison(b)
	results := map[string][]loadResult{} // "<conns>/<gateway>" → one per round
	connections := []int{1, 8, 64}
	for round := 1; round <= rounds; round++ {
		for _, conns := range connections {
			for _, gw := range cmp.gateways {
				name := fmt.Sprintf("conns=%d/%s/round=%d", conns, gw.name, round)
				var last loadResult
				ran := false
				b.Run(name, func(b *testing.B) {
					last, ran = cmp.run(b, gw, conns), true
					last.report(b)
				})
				if ran { // not left out by a -bench filter
					key := fmt.Sprintf("%d/%s", conns, gw.name)
					results[key] = append(results[key], last)
				}
			}
		}
	}
	printComparison(os.Stdout, connections, rounds, results)
}

// comparison holds the nats-server process and the gateways under test.
type comparison struct {
	nats     *natstest.ProcessCluster
	loader   *loader
	gateways []gateway
	ids      atomic.Int64
	prefix   string
}

type gateway struct {
	name   string
	url    string
	status int
	replay bool
}

const compareSecret = "whsec_compare"

// replayEvents bounds the distinct events the replay sends again: half of what an
// ingress remembers of the events it settled (ingress.Options.SettledEvents), as a
// sender's retries are of recent events. Repeats of more distinct events than it
// remembers take the full path, and JetStream's duplicate window answers them.
const replayEvents = ingress.DefaultSettledEvents / 2

func newComparison(b *testing.B) *comparison {
	cl := natstest.StartProcessCluster(b, 1)
	// Ids shaped like Stripe's (evt_1QxB2c...): letters and digits, no long run of
	// digits, which would send the body down the decoder's exact-integer path.
	c := &comparison{nats: cl, loader: startLoader(b), prefix: "evt_" + strconv.FormatInt(time.Now().UnixNano(), 36) + "x"}
	client := connectWithStreams(b, cl.URL(), "bench-inlet", jetstream.WithBulkConnection()) // as inlet-ingress connects
	in := fixture("stripe", v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}, compareSecret, benchMapping())
	srv := ingress.NewServer(ingress.Options{Publisher: client, Logger: logr.Discard()})
	snap := config.Build(in)
	if len(snap.Problems) > 0 {
		b.Fatal(snap.Problems)
	}
	srv.SetSnapshot(snap)
	inletURL := serveBench(b, srv.Handler()) + "/e/default/stripe-test"

	naive := newNaiveGateway(b, cl.URL())
	naiveURL := serveBench(b, naive)

	floorURL := serveBench(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	ceilingURL := serveBench(b, newCeilingGateway(b, cl.URL()))
	c.gateways = []gateway{
		{name: "inlet", url: inletURL, status: http.StatusOK},
		{name: "naive", url: naiveURL, status: http.StatusOK},
		{name: "floor", url: floorURL, status: http.StatusAccepted},
		{name: "ceiling", url: ceilingURL, status: http.StatusOK},
		{name: "replay", url: inletURL, status: http.StatusOK, replay: true},
	}
	return c
}

// serveBench serves h on a loopback port as a plain http.Server, until the benchmark
// ends, and returns its base URL.
func serveBench(b *testing.B, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.Serve(ln) }()
	b.Cleanup(func() { _ = s.Close() })
	return "http://" + ln.Addr().String()
}

// loadResult is one timed run of the load generator.
type loadResult struct {
	requests  int
	elapsed   time.Duration
	cpu       time.Duration // this process: the gateway
	natsCPU   time.Duration // the nats-server process
	loaderCPU time.Duration // the load generator's process
	p50, p99  time.Duration
	perSecond float64
}

func (r loadResult) cpuPerRequest() float64 {
	return float64(r.cpu.Microseconds()) / float64(max(1, r.requests))
}

func (r loadResult) natsPerRequest() float64 {
	return float64(r.natsCPU.Microseconds()) / float64(max(1, r.requests))
}

func (r loadResult) loaderPerRequest() float64 {
	return float64(r.loaderCPU.Microseconds()) / float64(max(1, r.requests))
}

func (r loadResult) report(b *testing.B) {
	b.ReportMetric(r.perSecond, "events/s")
	b.ReportMetric(r.cpuPerRequest(), "cpu-µs/req")
	b.ReportMetric(r.natsPerRequest(), "nats-cpu-µs/req")
	b.ReportMetric(r.loaderPerRequest(), "loader-cpu-µs/req")
	b.ReportMetric(float64(r.p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(r.p99.Microseconds())/1000, "p99-ms")
}

// run has the loader send b.N requests to gw over conns keep-alive connections, and
// measures them. A replay first sends its events once, untimed, so that every timed
// one is a duplicate.
func (c *comparison) run(b *testing.B, gw gateway, conns int) loadResult {
	b.StopTimer()
	cmd := loadCommand{URL: gw.url, Status: gw.status, Conns: conns, N: b.N, Prefix: c.prefix, First: c.ids.Load()}
	if gw.replay {
		cmd.Replay = min(b.N, replayEvents)
	}
	c.ids.Add(int64(max(cmd.N, cmd.Replay)))
	if err := c.loader.prepare(cmd); err != nil {
		b.Fatal(err)
	}
	natsBefore, err := c.nats.CPUTime(0)
	if err != nil {
		b.Fatal(err)
	}
	cpuBefore := processCPU()
	b.StartTimer()
	rep, err := c.loader.send()
	b.StopTimer()
	cpu := processCPU() - cpuBefore
	natsAfter, _ := c.nats.CPUTime(0)
	if err != nil {
		b.Fatal(err)
	}
	return loadResult{
		requests: b.N, elapsed: rep.Elapsed, cpu: cpu, natsCPU: natsAfter - natsBefore, loaderCPU: rep.CPU,
		p50: rep.P50, p99: rep.P99, perSecond: float64(b.N) / rep.Elapsed.Seconds(),
	}
}

// naiveGateway is the straightforward webhook gateway inlet is compared with.
type naiveGateway struct {
	js                          natsjs.JetStream
	when, recipients, data      cel.Program
	eventType, subject, mapping string
}

// connectNATS connects to the NATS at url as name, with nats.go's defaults, as a
// gateway written without inlet would, until the benchmark ends.
func connectNATS(b *testing.B, url, name string) *nats.Conn {
	nc, err := nats.Connect(url, nats.Name(name))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	return nc
}

// connectJetStream is connectNATS's connection as nats.go's JetStream client.
func connectJetStream(b *testing.B, url, name string) natsjs.JetStream {
	nc := connectNATS(b, url, name)
	js, err := natsjs.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	return js
}

func newNaiveGateway(b *testing.B, url string) *naiveGateway {
	js := connectJetStream(b, url, "bench-naive")
	env, err := cel.NewEnv(cel.Variable("body", cel.DynType))
	if err != nil {
		b.Fatal(err)
	}
	m := benchMapping()
	a := m.Actions[0].TriggerWorkflow
	compile := func(expr string) cel.Program {
		ast, iss := env.Compile(expr)
		if iss.Err() != nil {
			b.Fatal(iss.Err())
		}
		prg, err := env.Program(ast)
		if err != nil {
			b.Fatal(err)
		}
		return prg
	}
	return &naiveGateway{
		js: js, when: compile(string(m.When)), recipients: compile(string(a.Recipients)), data: compile(string(a.Data)),
		eventType: m.EventType, subject: jetstream.ActionSubject("production", "triggerWorkflow"), mapping: string(a.Workflow),
	}
}

// ceilingGateway does only what every gateway that answers after JetStream's ack must
// do: read the body, publish one message with a message id and wait for the ack, then
// 200. It verifies nothing, decodes nothing and maps nothing, and it publishes with the
// cheapest request nats.go has (a core request, its ack decoded into a small struct;
// nats.go's JetStream Publish costs some 6 µs more per request at 64 connections, its
// PublishMsgAsync some 2): no such gateway can be faster on this HTTP server, load
// generator and NATS.
type ceilingGateway struct {
	nc      *nats.Conn
	subject string
	ids     atomic.Int64
}

func newCeilingGateway(b *testing.B, url string) *ceilingGateway {
	return &ceilingGateway{nc: connectNATS(b, url, "bench-ceiling"), subject: jetstream.ActionSubject("production", "ceiling")}
}

// pubAck is what a JetStream ack says that a gateway must read: stored, or why not.
type pubAck struct {
	Seq   uint64 `json:"seq"`
	Error *struct {
		Description string `json:"description"`
	} `json:"error"`
}

func (g *ceilingGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := "c" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatInt(g.ids.Add(1), 36)
	msg := &nats.Msg{Subject: g.subject, Data: body[:min(len(body), 256)], Header: nats.Header{natsjs.MsgIDHeader: {id}}}
	var ack pubAck
	resp, err := g.nc.RequestMsg(msg, 5*time.Second)
	if err == nil {
		err = json.Unmarshal(resp.Data, &ack)
	}
	if err == nil && (ack.Error != nil || ack.Seq == 0) {
		err = fmt.Errorf("not stored: %s", resp.Data)
	}
	if err != nil {
		w.Header().Set("Retry-After", "5")
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"actions":1}`+"\n")
}

var (
	anySlice = reflect.TypeFor[[]any]()
	anyMap   = reflect.TypeFor[map[string]any]()
)

func (g *naiveGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !verifyStripe(r.Header.Get("Stripe-Signature"), body, compareSecret, time.Now()) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var event map[string]any
	if err := json.Unmarshal(body, &event); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id, _ := event["id"].(string)
	actions := 0
	if t, _ := event["type"].(string); t == g.eventType {
		vars := map[string]any{"body": event}
		ok, _, err := g.when.Eval(vars)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		if matched, _ := ok.Value().(bool); matched {
			recipients, _, err1 := g.recipients.Eval(vars)
			data, _, err2 := g.data.Eval(vars)
			if err1 != nil || err2 != nil {
				http.Error(w, "action failed", http.StatusUnprocessableEntity)
				return
			}
			rv, err1 := recipients.ConvertToNative(anySlice)
			dv, err2 := data.ConvertToNative(anyMap)
			if err1 != nil || err2 != nil {
				http.Error(w, "action failed", http.StatusUnprocessableEntity)
				return
			}
			msg, err := json.Marshal(map[string]any{
				"id": id + "-0", "action": "triggerWorkflow", "environment": "production",
				"params": map[string]any{"workflow": g.mapping, "recipients": rv, "data": dv},
				"event":  map[string]any{"id": id, "type": g.eventType, "receivedAt": time.Now().UTC()},
			})
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if _, err := g.js.Publish(r.Context(), g.subject, msg, natsjs.WithMsgID(id+"-0")); err != nil {
				w.Header().Set("Retry-After", "5")
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			actions++
		}
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"actions":%d}`+"\n", actions)
}

// verifyStripe checks a Stripe-Signature header (t=<unix>,v1=<hex hmac>,...) over
// "<t>.<body>", within 5 minutes of now.
func verifyStripe(header string, body []byte, secret string, now time.Time) bool {
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(t, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range sigs {
		if got, err := hex.DecodeString(s); err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// printComparison prints the table docs/benchmarks.md records: per connection count,
// each gateway's median events/s, CPU per request and p99 over the rounds, and the
// medians of the rounds' ratios.
func printComparison(out io.Writer, connections []int, rounds int, results map[string][]loadResult) {
	median := func(xs []float64) float64 {
		if len(xs) == 0 {
			return 0
		}
		xs = slices.Clone(xs)
		slices.Sort(xs)
		if len(xs)%2 == 1 {
			return xs[len(xs)/2]
		}
		return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	of := func(rs []loadResult, f func(loadResult) float64) float64 {
		xs := make([]float64, 0, len(rs))
		for _, r := range rs {
			xs = append(xs, f(r))
		}
		return median(xs)
	}
	ratio := func(a, b []loadResult, f func(loadResult) float64) float64 {
		xs := make([]float64, 0, len(a))
		for i := range min(len(a), len(b)) {
			if d := f(b[i]); d != 0 {
				xs = append(xs, f(a[i])/d)
			}
		}
		return median(xs)
	}
	rate := func(r loadResult) float64 { return r.perSecond }
	cpu := func(r loadResult) float64 { return r.cpuPerRequest() }
	natsCPU := func(r loadResult) float64 { return r.natsPerRequest() }
	p99 := func(r loadResult) float64 { return float64(r.p99.Microseconds()) / 1000 }
	// What the data path costs, NATS included, above the HTTP server and the load
	// generator.
	above := func(a, floor []loadResult) float64 {
		xs := make([]float64, 0, len(a))
		for i := range min(len(a), len(floor)) {
			xs = append(xs, a[i].cpuPerRequest()+a[i].natsPerRequest()-floor[i].cpuPerRequest()-floor[i].natsPerRequest())
		}
		return median(xs)
	}

	at := func(n int, gw string) []loadResult { return results[fmt.Sprintf("%d/%s", n, gw)] }
	// A row is printed only when the run measured every gateway it compares: a -bench
	// filter may leave some out.
	measured := func(gateways ...[]loadResult) bool {
		for _, g := range gateways {
			if len(g) == 0 {
				return false
			}
		}
		return true
	}

	fmt.Fprintf(out, "\ninlet vs a naive gateway vs an HTTP-only floor, %d interleaved rounds (medians; CPU µs per request: the gateway's process + the nats-server process; the load generator's is not counted)\n\n", rounds)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "conns\tinlet/s\tnaive/s\tfloor/s\tinlet/naive\tinlet/floor\tinlet CPU\tnaive CPU\tfloor CPU\tinlet p99 ms\tnaive p99 ms\tfloor p99 ms\t")
	for _, n := range connections {
		in, nv, fl := at(n, "inlet"), at(n, "naive"), at(n, "floor")
		if !measured(in, nv, fl) {
			continue
		}
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%.0f+%.0f\t%.0f+%.0f\t%.0f+%.0f\t%.2f\t%.2f\t%.2f\t\n", n,
			of(in, rate), of(nv, rate), of(fl, rate), ratio(in, nv, rate), ratio(in, fl, rate),
			of(in, cpu), of(in, natsCPU), of(nv, cpu), of(nv, natsCPU), of(fl, cpu), of(fl, natsCPU),
			of(in, p99), of(nv, p99), of(fl, p99))
	}
	_ = tw.Flush()
	fmt.Fprintf(out, "\nthe ceiling: read the body, one JetStream publish acknowledged, 200 (no gateway that answers after the ack does less)\n\n")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "conns\tceiling/s\tceiling CPU\tinlet/ceiling\tnaive/ceiling\tceiling/naive\tceiling/floor\t")
	for _, n := range connections {
		in, nv, ce, fl := at(n, "inlet"), at(n, "naive"), at(n, "ceiling"), at(n, "floor")
		if !measured(in, nv, ce, fl) {
			continue
		}
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f+%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", n, of(ce, rate), of(ce, cpu), of(ce, natsCPU),
			ratio(in, ce, rate), ratio(nv, ce, rate), ratio(ce, nv, rate), ratio(ce, fl, rate))
	}
	_ = tw.Flush()
	fmt.Fprintf(out, "\nreplay (every action a duplicate) vs a new event, inlet, CPU µs per request\n\n")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "conns\tnew\treplay\treplay/new\tnew above floor\treplay above floor\treplay/new above floor\t")
	for _, n := range connections {
		in, rp, fl := at(n, "inlet"), at(n, "replay"), at(n, "floor")
		if !measured(in, rp, fl) {
			continue
		}
		total := func(r loadResult) float64 { return r.cpuPerRequest() + r.natsPerRequest() }
		newAbove, replayAbove := above(in, fl), above(rp, fl)
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.2f\t%.0f\t%.0f\t%.2f\t\n", n, of(in, total), of(rp, total), ratio(rp, in, total),
			newAbove, replayAbove, replayAbove/newAbove)
	}
	_ = tw.Flush()

	// Issue 14's targets, each as the ratio measured in this run.
	fmt.Fprintf(out, "\ntargets (issue 14), as measured in this run\n\n")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tmeasured\tholds")
	total := func(r loadResult) float64 { return r.cpuPerRequest() + r.natsPerRequest() }
	// A target whose gateways this run left out (a -bench filter) says so rather than
	// printing a ratio of nothing.
	target := func(name string, value float64, holds bool, gateways ...[]loadResult) {
		if !measured(gateways...) {
			fmt.Fprintf(tw, "%s\tnot measured\t-\n", name)
			return
		}
		verdict := "no"
		if holds {
			verdict = "yes"
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%s\n", name, value, verdict)
	}
	in64, nv64, fl64 := at(64, "inlet"), at(64, "naive"), at(64, "floor")
	r := ratio(in64, nv64, rate)
	target("inlet/naive at 64 connections >= 1.30", r, r >= 1.3, in64, nv64)
	r = ratio(in64, fl64, rate)
	target("inlet/floor at 64 connections >= 0.40", r, r >= 0.4, in64, fl64)
	inP99, nvP99 := of(in64, p99), of(nv64, p99)
	target("inlet p99 / naive p99 at 64 connections <= 1.00", inP99/nvP99, inP99 <= nvP99, in64, nv64)
	in1, nv1 := at(1, "inlet"), at(1, "naive")
	r = ratio(in1, nv1, rate)
	target("inlet/naive at 1 connection >= 1.00", r, r >= 1.0, in1, nv1)
	worst, replayed := 0.0, []loadResult(nil)
	for _, n := range connections {
		if in, rp := at(n, "inlet"), at(n, "replay"); measured(in, rp) {
			worst, replayed = max(worst, ratio(rp, in, total)), rp
		}
	}
	target("replay/new CPU, worst over connections <= 0.50", worst, worst <= 0.5, replayed)
	_ = tw.Flush()
	fmt.Fprintln(out)
}

// connectWithStreams connects to the NATS at url as name and creates the action and
// log streams as the operator does (file storage, a one-hour window), for a benchmark.
func connectWithStreams(b *testing.B, url, name string, opts ...jetstream.Option) *jetstream.Client {
	b.Helper()
	ctx := context.Background()
	client, err := jetstream.Connect(ctx, url, append([]jetstream.Option{jetstream.WithName(name)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(client.Close)
	for _, cfg := range []natsjs.StreamConfig{
		jetstream.ActionStreamConfig(v1alpha1.DefaultActionStream, time.Hour, 1, natsjs.FileStorage),
		jetstream.LogStreamConfig(v1alpha1.DefaultLogStream, time.Hour, 1, natsjs.FileStorage),
	} {
		if _, err := jetstream.EnsureStream(ctx, client.JetStream(), cfg); err != nil {
			b.Fatal(err)
		}
	}
	return client
}
