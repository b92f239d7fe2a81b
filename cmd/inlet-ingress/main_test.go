package main_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	natsjs "github.com/nats-io/nats.go/jetstream"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
	"inlet.dev/inlet/ingress/sign"
	"inlet.dev/inlet/internal/testenv"
	"inlet.dev/inlet/internal/testevents"
)

// binary is inlet-ingress, built once for the package's tests as the image builds it.
var binary string

// The control plane, started by the first test that needs one (cluster) and stopped
// after the last.
var (
	clusterOnce sync.Once
	clusterEnv  *testenv.Env
	clusterErr  error
)

func TestMain(m *testing.M) {
	// envtest's client logs through controller-runtime; nothing here reads it, and unset
	// it prints a warning with a stack trace into the benchmark's figures.
	ctrllog.SetLogger(logr.Discard())
	dir, err := os.MkdirTemp("", "inlet-ingress-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "inlet-ingress")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build inlet-ingress:", err)
		os.Exit(1)
	}
	code := m.Run()
	if clusterEnv != nil {
		if err := clusterEnv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop control plane:", err)
		}
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// cluster returns the control plane (etcd and kube-apiserver with inlet's CRDs) and a
// kubeconfig of a cluster administrator for the ingress process.
func cluster(tb testing.TB) (*testenv.Env, string) {
	tb.Helper()
	clusterOnce.Do(func() { clusterEnv, clusterErr = testenv.Start() })
	if clusterErr != nil {
		tb.Fatal(clusterErr)
	}
	u, err := clusterEnv.AddUser(envtest.User{Name: "inlet-ingress", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	kubeconfig, err := u.KubeConfig()
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		tb.Fatal(err)
	}
	return clusterEnv, path
}

// The ingress binary links the ingress alone: not the operator, not the logs API
// server (k8s.io/apiserver), not the CLI, and no test machinery (envtest creates
// folders in $HOME/.cache when the program starts, which fails on a read-only root
// filesystem). That is what keeps an ingress pod small.
func TestBinaryLinksOnlyTheIngress(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/inlet-ingress: %v\n%s", err, stderr.String())
	}
	forbidden := []string{
		"inlet.dev/inlet/controllers",
		"inlet.dev/inlet/internal/logsapi",
		"inlet.dev/inlet/internal/localcluster",
		"inlet.dev/inlet/cmd/inlet",
		"k8s.io/apiserver/",
		"sigs.k8s.io/controller-runtime/pkg/manager",
		"sigs.k8s.io/controller-runtime/pkg/envtest",
		"sigs.k8s.io/controller-runtime/pkg/internal/testing",
	}
	for pkg := range strings.Lines(string(out)) {
		pkg = strings.TrimSpace(pkg)
		for _, f := range forbidden {
			if pkg == strings.TrimSuffix(f, "/") || strings.HasPrefix(pkg, strings.TrimSuffix(f, "/")+"/") {
				t.Errorf("./cmd/inlet-ingress depends on %s, which belongs to the operator, the CLI or the tests", pkg)
			}
		}
	}
}

// inlet-ingress takes `inlet ingress`'s flags with no subcommand: the operator's pods
// run `/inlet-ingress --namespace=...`.
func TestCommandLine(t *testing.T) {
	run := func(args ...string) (string, error) {
		out, err := exec.Command(binary, args...).CombinedOutput()
		return string(out), err
	}
	help, err := run("--help")
	if err != nil {
		t.Fatalf("inlet-ingress --help: %v\n%s", err, help)
	}
	for _, flag := range []string{"--namespace", "--source-environment", "--peers-service", "--pod-ip", "--listen", "--metrics-listen",
		"--nats-url", "--nats-creds", "--action-partitions", "--kubeconfig", "--instance", "--drain", "--shutdown-delay", "--verbose"} {
		if !strings.Contains(help, flag) {
			t.Errorf("inlet-ingress --help does not list %s:\n%s", flag, help)
		}
	}
	if !strings.Contains(help, "inlet-ingress --namespace default") {
		t.Errorf("inlet-ingress --help's examples do not run inlet-ingress:\n%s", help)
	}
	if out, err := run("--listen", "127.0.0.1:0"); err == nil || !strings.Contains(out, `required flag(s) "namespace" not set`) {
		t.Errorf("inlet-ingress without --namespace: %v, want an error naming the flag\n%s", err, out)
	}
	// The command line of `inlet ingress` left as it was is refused, not half-read.
	if out, err := run("ingress", "--namespace", "default"); err == nil || !strings.HasPrefix(out, "inlet-ingress: ") {
		t.Errorf("inlet-ingress ingress --namespace default: %v, want an error\n%s", err, out)
	}
	if out, err := run("--namespace", "default", "--action-partitions", "65"); err == nil || !strings.Contains(out, "between 1 and 64") {
		t.Errorf("inlet-ingress --action-partitions 65: %v, want the range in the error\n%s", err, out)
	}
}

// TestServesEventsFromTheCluster runs inlet-ingress as a pod runs it, against a real
// API server and NATS: it becomes ready once its SourceEnvironment is there, answers a
// signed Stripe event 200 with the action published, and stops cleanly on SIGTERM.
func TestServesEventsFromTheCluster(t *testing.T) {
	env, kubeconfig := cluster(t)
	natsURL := natsWithStreams(t)
	createEnvironments(t, env.Client, "serve", 1, 1)
	p := startIngress(t, kubeconfig, natsURL, "serve")
	waitReady(t, p, 30*time.Second)

	body := fmt.Appendf(nil, testevents.Stripe, "evt_serve_1")
	status, reply, err := postEvent(http.DefaultClient, p.url+"/e/serve/stripe0-test", body)
	if err != nil || status != http.StatusOK || !strings.Contains(reply, `"actions":1`) {
		t.Fatalf("signed event: %d %s %v, want 200 with one action", status, reply, err)
	}
	tampered := bytes.Replace(body, []byte("cus_QxSampleAda"), []byte("cus_Mallory"), 1)
	req, _ := http.NewRequest(http.MethodPost, p.url+"/e/serve/stripe0-test", bytes.NewReader(tampered))
	req.Header.Set("Stripe-Signature", sign.Stripe(signingSecret, time.Now(), body))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("tampered event: %v %v, want 401", resp, err)
	} else {
		resp.Body.Close()
	}

	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("inlet-ingress stopped with %v on SIGINT\n%s", err, p.out.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("inlet-ingress did not stop within 30s of SIGINT")
	}
}

// ingressProcess is a running inlet-ingress.
type ingressProcess struct {
	cmd     *exec.Cmd
	url     string // http://address of --listen
	metrics string // http://address of --metrics-listen
	out     *syncBuffer
	exited  chan error
}

// startIngress starts inlet-ingress for namespace and stops it when the test ends.
func startIngress(tb testing.TB, kubeconfig, natsURL, namespace string) *ingressProcess {
	tb.Helper()
	return startProcess(tb, []string{binary}, nil, kubeconfig, natsURL, namespace)
}

// startProcess starts the ingress command command (a binary and its arguments before
// the flags) for namespace, with env added to the environment, and stops it when the
// test ends.
func startProcess(tb testing.TB, command, env []string, kubeconfig, natsURL, namespace string) *ingressProcess {
	tb.Helper()
	listen, metrics := freePort(tb), freePort(tb)
	args := append(command[1:len(command):len(command)], "--kubeconfig", kubeconfig, "--namespace", namespace, "--listen", listen,
		"--metrics-listen", metrics, "--nats-url", natsURL, "--shutdown-delay", "0", "--instance", "inlet-ingress-test")
	cmd := exec.Command(command[0], args...)
	// The environment a pod has: no GOGC or GOMEMLIMIT but those env sets.
	cmd.Env = []string{"POD_NAME=inlet-ingress-test"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") && !strings.HasPrefix(kv, "POD_NAME=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &ingressProcess{cmd: cmd, url: "http://" + listen, metrics: "http://" + metrics, out: out, exited: make(chan error, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.exited <- cmd.Wait()
	}()
	tb.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
		if tb.Failed() {
			tb.Logf("inlet-ingress output:\n%s", out.String())
		}
	})
	return p
}

// waitReady waits until /readyz answers 200.
func waitReady(tb testing.TB, p *ingressProcess, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		select {
		case err := <-p.exited:
			tb.Fatalf("inlet-ingress exited (%v) before it was ready:\n%s", err, p.out.String())
		default:
		}
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("inlet-ingress not ready within %s (last /readyz: %s)", within, last)
}

// signingSecret signs every SourceEnvironment's events.
const signingSecret = "whsec_inlet_ingress_test"

// createEnvironments creates namespace with a Stripe Source and envs
// SourceEnvironments stripe<i>-test, each signed with signingSecret and with mappings
// EventMappings: the first maps customer.subscription.deleted to one action, the others
// event types nobody sends.
func createEnvironments(tb testing.TB, c client.Client, namespace string, envs, mappings int) {
	tb.Helper()
	ctx := context.Background()
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "stripe-webhook"},
			StringData: map[string]string{"secret": signingSecret}},
	}
	for e := range envs {
		source := fmt.Sprintf("stripe%d", e)
		environment := source + "-test"
		objs = append(objs,
			&v1alpha1.Source{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: source},
				Spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}},
			&v1alpha1.SourceEnvironment{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: environment},
				Spec: v1alpha1.SourceEnvironmentSpec{
					SourceRef:         v1alpha1.LocalObjectReference{Name: source},
					Environment:       "production",
					SigningSecretRefs: []v1alpha1.SecretKeyReference{{Name: "stripe-webhook", Key: "secret"}},
				}})
		for m := range mappings {
			spec := v1alpha1.EventMappingSpec{
				SourceEnvironmentRef: v1alpha1.LocalObjectReference{Name: environment},
				EventType:            "customer.subscription.deleted",
				When:                 "body.data.object.cancel_at_period_end == false",
				Actions: []v1alpha1.Action{{TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{
					Workflow:   "win-back",
					Recipients: "[body.data.object.customer]",
					Data:       `{"plan": body.data.object.plan.id, "seats": body.data.object.quantity}`,
				}}},
			}
			if m > 0 {
				spec.EventType = fmt.Sprintf("other.event.%d", m)
			}
			objs = append(objs, &v1alpha1.EventMapping{ObjectMeta: metav1.ObjectMeta{Namespace: namespace,
				Name: fmt.Sprintf("%s-m%d", source, m)}, Spec: spec})
		}
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			tb.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

// natsWithStreams starts an in-process NATS server with inlet's default action and log
// streams, as the operator creates them (file storage, a one-hour window), and returns
// its URL.
func natsWithStreams(tb testing.TB) string {
	tb.Helper()
	_, url := natstest.Start(tb)
	ctx := context.Background()
	nc, err := jetstream.Connect(ctx, url, jetstream.WithName("inlet-ingress-test"))
	if err != nil {
		tb.Fatal(err)
	}
	defer nc.Close()
	for _, cfg := range []natsjs.StreamConfig{
		jetstream.ActionStreamConfig(v1alpha1.DefaultActionStream, time.Hour, 1, natsjs.FileStorage),
		jetstream.LogStreamConfig(v1alpha1.DefaultLogStream, time.Hour, 1, natsjs.FileStorage),
	} {
		if _, err := jetstream.EnsureStream(ctx, nc.JetStream(), cfg); err != nil {
			tb.Fatal(err)
		}
	}
	return url
}

// postEvent sends body signed as Stripe signs it and returns the status and reply.
func postEvent(c *http.Client, url string, body []byte) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", sign.Stripe(signingSecret, time.Now(), body))
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(reply), err
}

// procStatus returns a field of /proc/<pid>/status, in bytes: VmRSS, VmHWM.
func procStatus(tb testing.TB, pid int, field string) uint64 {
	tb.Helper()
	v, err := readProcStatus(pid, field)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func readProcStatus(pid int, field string) (uint64, error) {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s in /proc/%d/status: %w", field, pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func freePort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer is a bytes.Buffer a process writes while a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
