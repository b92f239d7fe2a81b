package ingress_test

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
	"inlet.dev/inlet/ingress/sign"
	"inlet.dev/inlet/internal/testevents"
)

// BenchmarkMemory measures the memory of an ingress with 100 EventMappings (10
// SourceEnvironments of 10 mappings each), idle and under load (64 connections of
// new Stripe events for 3 seconds), against a nats-server process. Reported, in MiB:
// base-rss, this test process before the ingress starts (the test binary's own share
// of every figure); idle-rss and idle-heap once the configuration is loaded and
// collected; load-rss, the largest resident set sampled under load. The ingress's
// target (issue 14) is 64 MiB idle and under load; these figures include the test
// binary and the load generator, so they are upper bounds. It runs once whatever b.N.
func BenchmarkMemory(b *testing.B) {
	ingress.TuneRuntime()
	runtime.GC()
	base := residentSet(b)

	cl := natstest.StartProcessCluster(b, 1)
	client := connectWithStreams(b, cl.URL(), "bench-memory", jetstream.WithBulkConnection())
	var parts []config.Inputs
	for e := range 10 {
		mappings := []v1alpha1.EventMappingSpec{benchMapping()}
		for i := 1; i < 10; i++ {
			m := benchMapping()
			m.EventType = fmt.Sprintf("other.event.%d", i)
			mappings = append(mappings, m)
		}
		parts = append(parts, fixture(fmt.Sprintf("stripe%d", e), v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}, compareSecret, mappings...))
	}
	snap := config.Build(merge(parts...))
	if len(snap.Problems) > 0 {
		b.Fatal(snap.Problems)
	}
	srv := ingress.NewServer(ingress.Options{Publisher: client, Logger: logr.Discard()})
	srv.SetSnapshot(snap)
	url := serveBench(b, srv.Handler())

	runtime.GC()
	time.Sleep(time.Second) // what the runtime returns to the system after a collection
	idle := residentSet(b)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	idleHeap := ms.HeapInuse

	// Load: 64 connections, each request a new event signed as it is sent, to the ten
	// SourceEnvironments in turn.
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if rss := residentSet(b); rss > peak.Load() {
					peak.Store(rss)
				}
			}
		}
	}()
	transport := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	defer transport.CloseIdleConnections()
	httpClient := &http.Client{Transport: transport}
	prefix := "evt_" + strconv.FormatInt(time.Now().UnixNano(), 36) + "m"
	var n atomic.Int64
	var failed atomic.Pointer[error]
	deadline := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for time.Now().Before(deadline) && failed.Load() == nil {
				i := n.Add(1)
				body := fmt.Appendf(nil, testevents.Stripe, prefix+strconv.FormatInt(i, 36))
				to := loadCommand{URL: fmt.Sprintf("%s/e/default/stripe%d-test", url, i%10), Status: http.StatusOK}
				if err := post(httpClient, to, signedRequest{body, sign.Stripe(compareSecret, time.Now(), body)}); err != nil {
					failed.Store(&err)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	mib := func(v uint64) float64 { return float64(v) / (1 << 20) }
	b.ReportMetric(mib(base), "base-rss-MiB")
	b.ReportMetric(mib(idle), "idle-rss-MiB")
	b.ReportMetric(mib(idleHeap), "idle-heap-MiB")
	b.ReportMetric(mib(peak.Load()), "load-rss-MiB")
	b.ReportMetric(float64(n.Load())/3, "events/s")
	b.ReportMetric(0, "ns/op")
}

// residentSet is this process's resident set size (VmRSS), in bytes.
func residentSet(b *testing.B) uint64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
