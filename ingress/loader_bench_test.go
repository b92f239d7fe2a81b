package ingress_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"inlet.dev/inlet/ingress/sign"
	"inlet.dev/inlet/internal/testevents"
)

// BenchmarkCompare's load generator runs in a process of its own, this test binary
// started again with loaderEnv set, so that the CPU the benchmark reports for a gateway
// is the gateway's (and NATS's) alone: the sender's work is not the event's. The
// benchmark sends it one loadCommand per run as a JSON line on its standard input;
// the loader signs the events, sends a replay's stored events once, answers
// {"ready":true}, waits for a line "go", sends the events and answers a loadReport.
const loaderEnv = "INLET_BENCH_LOADER"

// loadCommand is one run of the load generator.
type loadCommand struct {
	URL    string `json:"url"`
	Status int    `json:"status"` // every answer must have it
	Conns  int    `json:"conns"`
	N      int    `json:"n"`
	// Events are named Prefix + base-36 of First, First+1, ...
	Prefix string `json:"prefix"`
	First  int64  `json:"first"`
	// Replay, when above 0, sends the first Replay events once, untimed, and then
	// times N requests that send them again, each as often as N needs.
	Replay int `json:"replay"`
}

// loadReport is what the loader measured of one run.
type loadReport struct {
	Ready   bool          `json:"ready,omitempty"`
	Error   string        `json:"error,omitempty"`
	Elapsed time.Duration `json:"elapsed"`
	CPU     time.Duration `json:"cpu"` // the loader's own
	P50     time.Duration `json:"p50"`
	P99     time.Duration `json:"p99"`
}

// serveLoadIfChild runs the load generator and exits when this process was started as
// one; otherwise it returns at once. TestMain calls it first.
func serveLoadIfChild() {
	if os.Getenv(loaderEnv) == "" {
		return
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64<<10), 64<<10)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var cmd loadCommand
		if err := json.Unmarshal(in.Bytes(), &cmd); err != nil {
			_ = out.Encode(loadReport{Error: err.Error()})
			continue
		}
		_ = out.Encode(runLoad(cmd, in))
	}
	os.Exit(0)
}

// runLoad prepares cmd's events, reports ready, waits for "go" on in and sends them.
func runLoad(cmd loadCommand, in *bufio.Scanner) loadReport {
	transport := &http.Transport{MaxIdleConnsPerHost: cmd.Conns, MaxConnsPerHost: cmd.Conns, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	var reqs []signedRequest
	if cmd.Replay > 0 {
		stored := signedEvents(cmd.Prefix, cmd.First, cmd.Replay)
		if _, err := load(client, cmd, stored); err != nil {
			return loadReport{Error: err.Error()}
		}
		reqs = make([]signedRequest, cmd.N)
		for i := range reqs {
			reqs[i] = stored[i%len(stored)]
		}
	} else {
		reqs = signedEvents(cmd.Prefix, cmd.First, cmd.N)
	}
	ready, _ := json.Marshal(loadReport{Ready: true})
	if _, err := os.Stdout.Write(append(ready, '\n')); err != nil {
		return loadReport{Error: err.Error()}
	}
	if !in.Scan() || in.Text() != "go" {
		return loadReport{Error: "no go"}
	}
	cpuBefore := processCPU()
	start := time.Now()
	latencies, err := load(client, cmd, reqs)
	elapsed := time.Since(start)
	cpu := processCPU() - cpuBefore
	if err != nil {
		return loadReport{Error: err.Error()}
	}
	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[min(len(latencies)-1, int(float64(len(latencies))*p))] }
	return loadReport{Elapsed: elapsed, CPU: cpu, P50: pct(0.50), P99: pct(0.99)}
}

type signedRequest struct {
	body   []byte
	header string
}

// signedEvents signs n new events up front, so that signing costs the timed part
// nothing.
func signedEvents(prefix string, first int64, n int) []signedRequest {
	reqs := make([]signedRequest, n)
	now := time.Now()
	for i := range reqs {
		id := prefix + strconv.FormatInt(first+int64(i), 36)
		body := fmt.Appendf(nil, testevents.Stripe, id)
		reqs[i] = signedRequest{body, sign.Stripe(compareSecret, now, body)}
	}
	return reqs
}

// load posts every request on cmd.Conns workers, one connection each, and returns each
// request's latency.
func load(client *http.Client, cmd loadCommand, reqs []signedRequest) ([]time.Duration, error) {
	latencies := make([]time.Duration, len(reqs))
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range cmd.Conns {
		wg.Go(func() {
			for failed.Load() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				start := time.Now()
				if err := post(client, cmd, reqs[i]); err != nil {
					failed.Store(&err)
					return
				}
				latencies[i] = time.Since(start)
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		return nil, *err
	}
	return latencies, nil
}

func post(client *http.Client, cmd loadCommand, r signedRequest) error {
	req, err := http.NewRequest(http.MethodPost, cmd.URL, bytes.NewReader(r.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", r.header)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != cmd.Status {
		return fmt.Errorf("%s: status %d, want %d", cmd.URL, resp.StatusCode, cmd.Status)
	}
	return nil
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loader is the load generator process, as the benchmark drives it.
type loader struct {
	cmd *exec.Cmd
	in  io.Writer
	out *json.Decoder
}

func startLoader(b *testing.B) *loader {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), loaderEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = in.Close() // the loader exits at the end of its input
		_ = cmd.Wait()
	})
	return &loader{cmd: cmd, in: in, out: json.NewDecoder(out)}
}

// prepare sends cmd and waits until the loader is ready to send its events.
func (l *loader) prepare(cmd loadCommand) error {
	line, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	if _, err := l.in.Write(append(line, '\n')); err != nil {
		return err
	}
	rep, err := l.report()
	if err == nil && !rep.Ready {
		err = errors.New("the loader did not get ready")
	}
	return err
}

// send starts the prepared run and waits for its report.
func (l *loader) send() (loadReport, error) {
	if _, err := io.WriteString(l.in, "go\n"); err != nil {
		return loadReport{}, err
	}
	return l.report()
}

func (l *loader) report() (loadReport, error) {
	var rep loadReport
	if err := l.out.Decode(&rep); err != nil {
		return rep, fmt.Errorf("the loader: %w", err)
	}
	if rep.Error != "" {
		return rep, fmt.Errorf("the loader: %s", rep.Error)
	}
	return rep, nil
}
