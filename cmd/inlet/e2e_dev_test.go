package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/wire"
)

// binary is the inlet binary the end-to-end tests run, built once by TestMain as `make
// image` builds the one it ships: static (CGO_ENABLED=0), -trimpath, stripped.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "inlet-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "inlet")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build inlet:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is a running inlet command whose output is collected.
type process struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	seen chan struct{}
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// start runs inlet with args and waits until a line containing ready appears.
func start(t *testing.T, ready string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(binary, args...), seen: make(chan struct{})}
	stdout, _ := p.cmd.StdoutPipe()
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		once := sync.Once{}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if strings.Contains(sc.Text(), ready) {
				once.Do(func() { close(p.seen) })
			}
		}
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			t.Errorf("inlet %s did not stop within 15s of Ctrl-C", args[0])
		}
	})
	select {
	case <-p.seen:
	case <-time.After(60 * time.Second):
		t.Fatalf("inlet %s not ready after 60s:\n%s", args[0], p.output())
	}
	return p
}

// run runs an inlet command to completion and returns its output and error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	return string(out), err
}

func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// copySamples copies the manifests of config/samples to a new folder and returns it.
func copySamples(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	samples, _ := filepath.Glob(filepath.Join(repoRoot(), "config", "samples", "*.yaml"))
	for _, f := range samples {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestDevMode is the self-hosted mode as a user runs it: inlet dev on a folder of
// manifests, inlet send for each sample source, inlet events to see what happened.
func TestDevMode(t *testing.T) {
	dir := copySamples(t)
	data := filepath.Join(t.TempDir(), "data")
	listen, metricsAddr, natsAddr := freePort(t), freePort(t), freePort(t)
	dev := start(t, "inlet dev is up", "dev", "--dir", dir, "--data", data, "--listen", listen, "--metrics-listen", metricsAddr, "--nats-listen", natsAddr)
	if !strings.Contains(dev.output(), "5 source environments, 9 mappings, 0 not served") {
		t.Errorf("inlet dev did not load every sample:\n%s", dev.output())
	}
	send := func(args ...string) (string, error) {
		return run(t, append([]string{"send", "--dir", dir, "--data-dir", data, "--url", "http://" + listen}, args...)...)
	}

	sends := map[string]struct {
		sample  string
		actions string
	}{
		"stripe-production":  {"customer.subscription.created", `"actions":2`},
		"clerk-production":   {"user.created", `"actions":2`},
		"segment-production": {"Project Created", `"actions":2`},
		"github-development": {"issues.assigned", `"actions":1`},
	}
	for env, tc := range sends {
		t.Run(env, func(t *testing.T) {
			out, err := send("-e", env, "--sample", tc.sample)
			if err != nil || !strings.Contains(out, "200 OK") || !strings.Contains(out, tc.actions) {
				t.Fatalf("send: %v\n%s", err, out)
			}
			again, err := send("-e", env, "--sample", tc.sample)
			if err != nil || !strings.Contains(again, `"idempotent":true`) {
				t.Errorf("the same event again is not idempotent: %v\n%s", err, again)
			}
			tampered, err := send("-e", env, "--sample", tc.sample, "--unsigned")
			if err == nil || !strings.Contains(tampered, "401") {
				t.Errorf("an unsigned event was not refused with 401: %v\n%s", err, tampered)
			}
			events, err := run(t, "events", env, "--nats-url", "nats://"+natsAddr)
			if err != nil || strings.Count(events, "\n") < 4 || !strings.Contains(events, "idempotent") || !strings.Contains(events, "unauthorized") {
				t.Errorf("inlet events does not show the accepted, idempotent and refused events: %v\n%s", err, events)
			}
		})
	}

	// The WhatsApp sample's endpoint answers Meta's verification request only with the
	// verify token, and the check creates no event (the actions counted below hold none).
	checkDevHandshake(t, send, metricsAddr)

	// Metrics count what was answered, on their own port; the event port has none.
	if code, body := get("http://" + metricsAddr + "/metrics"); code != 200 ||
		!strings.Contains(body, `inlet_ingress_requests_total{code="200",namespace="default",result="accepted",source_environment="stripe-production"} 1`) {
		t.Errorf("GET /metrics on --metrics-listen = %d, without stripe-production's accepted event:\n%s", code, body)
	}
	if code, _ := get("http://" + listen + "/metrics"); code != 404 {
		t.Errorf("GET /metrics on --listen = %d, want 404", code)
	}

	// The actions are on JetStream, on their subjects, once each.
	client, err := jetstream.Connect(context.Background(), "nats://"+natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	msgs, err := client.LastMessages(context.Background(), "INLET_ACTIONS", jetstream.ActionStreamSubject, 1000)
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[string]int{}
	for _, m := range msgs {
		subjects[m.Subject]++
	}
	want := map[string]int{
		"inlet.actions.production.identifyUser":     2, // Stripe's and Clerk's
		"inlet.actions.production.triggerWorkflow":  2, // Stripe's and Clerk's welcome
		"inlet.actions.production.setObject":        1,
		"inlet.actions.production.subscribeUser":    1,
		"inlet.actions.development.triggerWorkflow": 1,
	}
	for s, n := range want {
		if subjects[s] != n {
			t.Errorf("%s holds %d actions, want %d (all: %v)", s, subjects[s], n, subjects)
		}
	}

	// An edited mapping is live within seconds, without a restart.
	stripeFile := filepath.Join(dir, "stripe.yaml")
	manifest, _ := os.ReadFile(stripeFile)
	edited := strings.Replace(string(manifest), "workflow: subscription-welcome", "workflow: subscription-hello", 1)
	if err := os.WriteFile(stripeFile, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	n := 0
	took := eventually(t, "the edited mapping to be live", 10*time.Second, func() bool {
		n++
		payload := fmt.Sprintf(`{"id":"evt_edit_%d","type":"customer.subscription.created","data":{"object":{"customer":"cus_edit","items":{"data":[{"price":{"id":"p"}}]},"status":"active"}}}`, n)
		if _, err := send("-e", "stripe-production", "--data", payload); err != nil {
			return false
		}
		for _, m := range lastActions(t, client) {
			if m.Event.IdempotencyKey == fmt.Sprintf("evt_edit_%d", n) && m.Params["workflow"] == "subscription-hello" {
				return true
			}
		}
		return false
	})
	t.Logf("an edited mapping was live %s after the file was saved", took.Round(time.Millisecond))

	// A manifest that fails validation is reported with its file and field, and the
	// others keep working.
	bad := "apiVersion: inlet.dev/v1alpha1\nkind: EventMapping\nmetadata: {name: broken}\nspec:\n  sourceEnvironmentRef: {name: stripe-production}\n  eventType: x\n  actions: [{}]\n"
	if err := os.WriteFile(filepath.Join(dir, "zz-broken.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the broken manifest to be reported", 10*time.Second, func() bool {
		return strings.Contains(dev.output(), "zz-broken.yaml#0 (EventMapping broken): spec.actions[0]")
	})
	if out, err := send("-e", "stripe-production", "--sample", "invoice.payment_failed"); err != nil || !strings.Contains(out, "200 OK") {
		t.Errorf("the other mappings stopped working: %v\n%s", err, out)
	}
}

// checkDevHandshake sends Meta's verification request to the WhatsApp sample with inlet
// send --handshake, with and without the verify token, and checks that it is counted.
func checkDevHandshake(t *testing.T, send func(args ...string) (string, error), metricsAddr string) {
	t.Helper()
	if out, err := send("-e", "whatsapp-development", "--handshake"); err != nil || !strings.Contains(out, "200 OK") ||
		!strings.Contains(out, "answered as meta expects") {
		t.Errorf("Meta's verification request: %v\n%s", err, out)
	}
	if out, err := send("-e", "whatsapp-development", "--handshake", "--unsigned"); err == nil || !strings.Contains(out, "401") {
		t.Errorf("Meta's verification request without the verify token was not refused with 401: %v\n%s", err, out)
	}
	if _, body := get("http://" + metricsAddr + "/metrics"); !strings.Contains(body,
		`inlet_ingress_handshakes_total{namespace="default",result="answered",source_environment="whatsapp-development",type="meta"} 1`) {
		t.Errorf("GET /metrics does not count the answered handshake:\n%s", body)
	}
}

func lastActions(t *testing.T, c *jetstream.Client) []wire.ActionMessage {
	msgs, err := c.LastMessages(context.Background(), "INLET_ACTIONS", jetstream.ActionStreamSubject, 50)
	if err != nil {
		t.Fatal(err)
	}
	var out []wire.ActionMessage
	for _, m := range msgs {
		var a wire.ActionMessage
		if json.Unmarshal(m.Data, &a) == nil {
			out = append(out, a)
		}
	}
	return out
}

// TestOfflineTest is `inlet test` as a GitOps CI runs it: valid manifests pass, an
// invalid one fails naming its file and field, and a payload shows its actions.
func TestOfflineTest(t *testing.T) {
	samples := filepath.Join(repoRoot(), "config", "samples")
	out, err := run(t, "test", "-f", samples)
	if err != nil || !strings.Contains(out, "valid: 5 sources, 5 source environments, 9 mappings") {
		t.Errorf("samples: %v\n%s", err, out)
	}
	out, err = run(t, "test", "-f", samples, "-e", "stripe-production", "--event", filepath.Join(samples, "events", "stripe", "customer.subscription.created.json"))
	if err != nil || !strings.Contains(out, "inlet.actions.production.identifyUser") || !strings.Contains(out, `"workflow":"subscription-welcome"`) || !strings.Contains(out, "2 actions would be published") {
		t.Errorf("dry run: %v\n%s", err, out)
	}
	bad := t.TempDir()
	manifest := "apiVersion: inlet.dev/v1alpha1\nkind: EventMapping\nmetadata: {name: m}\nspec:\n  sourceEnvironmentRef: {name: s}\n  eventType: x\n  actions:\n  - triggerWorkflow: {workflow: w, recipients: '[body.id'}\n"
	if err := os.WriteFile(filepath.Join(bad, "m.yaml"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, "test", "-f", bad)
	if err == nil || !strings.Contains(out, "spec.actions[0].triggerWorkflow.recipients: line 1, column") {
		t.Errorf("an expression that does not compile: %v\n%s", err, out)
	}
}
