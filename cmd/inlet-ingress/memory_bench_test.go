package main_test

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"inlet.dev/inlet/internal/testevents"
)

// BenchmarkIngressProcessMemory measures what an ingress pod holds: the inlet-ingress
// binary as a process of its own, against a real API server (envtest) and NATS, serving
// 100 EventMappings in one namespace (10 SourceEnvironments of 10 mappings each, as
// ingress's BenchmarkMemory). Reported, in MiB, from /proc/<pid>/status:
//
//   - start-hwm: the largest resident set (VmHWM) once /readyz is ready;
//   - idle-rss: the resident set (VmRSS) 5 seconds later, nothing sent;
//   - load-rss: the largest resident set sampled while 64 connections send new signed
//     Stripe events for 3 seconds;
//   - load-hwm: VmHWM after the load, the peak over the process's life;
//
// and the events/s answered and the ingress's CPU µs per event under that load.
//
// The sub-benchmarks run the binary as a pod does (gogc=default: Go's GOGC 100, see
// ingress.TuneRuntime), then with GOGC=400 in its environment, the setting the ingress
// ran with before, for the memory and CPU the garbage collector's target trades. With INLET_BENCH_INLET set to an inlet binary (go build
// -o bin/inlet ./cmd/inlet), it measures `inlet ingress` too, the command ingress pods
// ran before inlet-ingress. The target (issue 14) is 64 MiB idle and under load. The
// figures are the ingress's own: the load generator, the API server and NATS are other
// processes. Each runs once whatever b.N.
func BenchmarkIngressProcessMemory(b *testing.B) {
	env, kubeconfig := cluster(b)
	natsURL := natsWithStreams(b)
	createEnvironments(b, env.Client, "memory", 10, 10)
	type variant struct {
		name    string
		command []string
		env     []string
	}
	variants := []variant{
		{"binary=inlet-ingress/gogc=default", []string{binary}, nil},
		{"binary=inlet-ingress/gogc=400", []string{binary}, []string{"GOGC=400"}},
	}
	if inlet := os.Getenv("INLET_BENCH_INLET"); inlet != "" {
		variants = append(variants, variant{"binary=inlet/gogc=default", []string{inlet, "ingress"}, nil})
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			benchProcessMemory(b, startProcess(b, v.command, v.env, kubeconfig, natsURL, "memory"))
		})
	}
}

func benchProcessMemory(b *testing.B, p *ingressProcess) {
	waitReady(b, p, 60*time.Second)
	pid := p.cmd.Process.Pid
	startHWM := procStatus(b, pid, "VmHWM")

	time.Sleep(5 * time.Second)
	idle := procStatus(b, pid, "VmRSS")

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
				if rss, err := readProcStatus(pid, "VmRSS"); err == nil && rss > peak.Load() {
					peak.Store(rss)
				}
			}
		}
	}()
	transport := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	defer transport.CloseIdleConnections()
	httpClient := &http.Client{Transport: transport}
	prefix := "evt_" + strconv.FormatInt(time.Now().UnixNano(), 36) + "p"
	var n atomic.Int64
	var failed atomic.Pointer[error]
	const loadFor = 3 * time.Second
	cpuBefore := processCPU(b, pid)
	deadline := time.Now().Add(loadFor)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for time.Now().Before(deadline) && failed.Load() == nil {
				i := n.Add(1)
				body := fmt.Appendf(nil, testevents.Stripe, prefix+strconv.FormatInt(i, 36))
				url := fmt.Sprintf("%s/e/memory/stripe%d-test", p.url, i%10)
				if status, reply, err := postEvent(httpClient, url, body); err != nil || status != http.StatusOK {
					err = fmt.Errorf("event %d: %d %s %w", i, status, reply, err)
					failed.Store(&err)
				}
			}
		})
	}
	wg.Wait()
	cpu := processCPU(b, pid) - cpuBefore
	close(stop)
	<-sampled
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	loadHWM := procStatus(b, pid, "VmHWM")

	mib := func(v uint64) float64 { return float64(v) / (1 << 20) }
	b.ReportMetric(mib(startHWM), "start-hwm-MiB")
	b.ReportMetric(mib(idle), "idle-rss-MiB")
	b.ReportMetric(mib(peak.Load()), "load-rss-MiB")
	b.ReportMetric(mib(loadHWM), "load-hwm-MiB")
	b.ReportMetric(float64(n.Load())/loadFor.Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n.Load()), "cpu-µs/event")
	b.ReportMetric(0, "ns/op")
}

// processCPU is the CPU time (user and system) process pid has used, from
// /proc/<pid>/stat in clock ticks of 10 ms (USER_HZ is 100 on Linux).
func processCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	// The command name, in parentheses, may hold spaces; the fields after it are
	// state (3), ..., utime (14) and stime (15).
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %s", pid, stat)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
