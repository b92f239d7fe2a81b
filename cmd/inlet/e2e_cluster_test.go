package main_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/internal/scheme"
)

// controlPlaneDir returns the etcd and kube-apiserver folder, skipping the test when
// they are not built.
func controlPlaneDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if _, err := os.Stat(filepath.Join(dir, "kube-apiserver")); dir == "" || err != nil {
		t.Skip("KUBEBUILDER_ASSETS does not hold kube-apiserver: run `make test`")
	}
	return dir
}

// get returns the status code and body of a GET.
func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestClusterMode is the operator path on one machine as a user runs it: inlet cluster,
// inlet send to a signed and to a token endpoint, status counters rising, and an
// `inlet ingress` pod-like process serving one SourceEnvironment from the same API
// server and NATS.
//
//nolint:gocyclo // one sequential scenario against a cluster it starts once; its steps share that state
func TestClusterMode(t *testing.T) {
	assets := controlPlaneDir(t)
	dir := t.TempDir()
	addr, natsAddr := freePort(t), freePort(t)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	samples := filepath.Join(repoRoot(), "config", "samples")
	start(t, "Ctrl-C stops everything", "cluster",
		"--control-plane-dir", assets, "--crds", filepath.Join(repoRoot(), "config", "crd", "bases"),
		"--samples", samples, "--kubeconfig-out", kubeconfig, "--data", filepath.Join(dir, "data"),
		"--listen", addr, "--nats-listen", natsAddr, "--metrics-listen", freePort(t))

	send := func(url, sourceEnvironment, sample string, extra ...string) func() bool {
		return func() bool {
			args := append([]string{"send", "--url", url, "--dir", samples, "--source-environment", sourceEnvironment, "--sample", sample}, extra...)
			out, err := run(t, args...)
			return err == nil && strings.HasPrefix(out, "200")
		}
	}
	took := eventually(t, "stripe event", 10*time.Second, send("http://"+addr, "stripe-production", "customer.subscription.created"))
	t.Logf("stripe-production served %s after inlet cluster was up", took.Round(time.Millisecond))
	eventually(t, "segment event to the operator's token", 20*time.Second,
		send("http://"+addr, "segment-production", "identify", "--data-dir", filepath.Join(dir, "data")))

	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		t.Fatal(err)
	}
	took = eventually(t, "status counters", 60*time.Second, func() bool {
		var se v1alpha1.SourceEnvironment
		err := c.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: "stripe-production"}, &se)
		return err == nil && se.Status.EventsReceived >= 1 && se.Status.ActionsPublished >= 2
	})
	t.Logf("status counters rose after %s", took.Round(time.Millisecond))

	t.Run("what a user checks", func(t *testing.T) {
		ctx := context.Background()
		// Every sample is Ready.
		eventually(t, "every sample Ready", 30*time.Second, func() bool {
			var envs v1alpha1.SourceEnvironmentList
			var maps v1alpha1.EventMappingList
			if c.List(ctx, &envs, client.InNamespace("default")) != nil || c.List(ctx, &maps, client.InNamespace("default")) != nil {
				return false
			}
			for _, e := range envs.Items {
				if !meta.IsStatusConditionTrue(e.Status.Conditions, v1alpha1.ConditionReady) {
					return false
				}
			}
			for _, m := range maps.Items {
				if !meta.IsStatusConditionTrue(m.Status.Conditions, v1alpha1.ConditionReady) {
					return false
				}
			}
			return len(envs.Items) == countKind(t, samples, "SourceEnvironment") && len(maps.Items) == countKind(t, samples, "EventMapping")
		})
		url := "http://" + addr
		sendOut := func(args ...string) (string, error) {
			return run(t, append([]string{"send", "--url", url, "--dir", samples, "--source-environment", "stripe-production"}, args...)...)
		}
		// The same event again is idempotent; a tampered one is 401.
		if out, err := sendOut("--sample", "customer.subscription.created"); err != nil || !strings.Contains(out, `"idempotent":true`) {
			t.Errorf("the same event again is not idempotent: %v\n%s", err, out)
		}
		if out, err := sendOut("--sample", "customer.subscription.created", "--unsigned"); err == nil || !strings.Contains(out, "401") {
			t.Errorf("an unsigned event was not refused: %v\n%s", err, out)
		}
		// An edited mapping is live within seconds.
		var m v1alpha1.EventMapping
		if err := c.Get(ctx, types.NamespacedName{Namespace: "default", Name: "stripe-subscription-created"}, &m); err != nil {
			t.Fatal(err)
		}
		m.Spec.Actions[1].TriggerWorkflow.Workflow = "subscription-hello"
		if err := c.Update(ctx, &m); err != nil {
			t.Fatal(err)
		}
		js, err := jetstream.Connect(ctx, "nats://"+natsAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer js.Close()
		n := 0
		took := eventually(t, "the edited mapping to be live", 10*time.Second, func() bool {
			n++
			key := fmt.Sprintf("evt_cluster_edit_%d", n)
			payload := fmt.Sprintf(`{"id":%q,"type":"customer.subscription.created","data":{"object":{"customer":"cus_e","items":{"data":[{"price":{"id":"p"}}]},"status":"active"}}}`, key)
			if _, err := sendOut("--data", payload); err != nil {
				return false
			}
			for _, a := range lastActions(t, js) {
				if a.Event.IdempotencyKey == key && a.Params["workflow"] == "subscription-hello" {
					return true
				}
			}
			return false
		})
		t.Logf("an EventMapping edited in the API server was live %s later", took.Round(time.Millisecond))
		// inlet events shows what came in: accepted, idempotent and refused.
		out, err := run(t, "events", "stripe-production", "--nats-url", "nats://"+natsAddr, "--limit", "100")
		for _, want := range []string{"accepted", "idempotent", "unauthorized", "customer.subscription.created"} {
			if err != nil || !strings.Contains(out, want) {
				t.Errorf("inlet events does not show %q: %v\n%s", want, err, out)
			}
		}
	})

	t.Run("ingress command", func(t *testing.T) {
		ingressAddr, metricsAddr := freePort(t), freePort(t)
		start(t, "ingress starting", "ingress", "--kubeconfig", kubeconfig, "--namespace", "default",
			"--source-environment", "stripe-production", "--listen", ingressAddr, "--metrics-listen", metricsAddr,
			"--nats-url", "nats://"+natsAddr, "--instance", "e2e", "--shutdown-delay", "0")
		eventually(t, "ingress ready", 20*time.Second, func() bool {
			code, _ := get("http://" + ingressAddr + "/readyz")
			return code == http.StatusOK
		})
		if !send("http://"+ingressAddr, "stripe-production", "customer.subscription.deleted")() {
			t.Error("stripe event to the ingress command was not accepted")
		}
		if code, body := get("http://" + metricsAddr + "/metrics"); code != http.StatusOK ||
			!strings.Contains(body, `inlet_ingress_requests_total{code="200",namespace="default",result="accepted",source_environment="stripe-production"} 1`) {
			t.Errorf("GET /metrics on --metrics-listen = %d, without the accepted event:\n%s", code, body)
		}
		if code, _ := get("http://" + ingressAddr + "/metrics"); code != http.StatusNotFound {
			t.Errorf("GET /metrics on the event port = %d, want 404", code)
		}
		if code, _ := get("http://" + ingressAddr + "/e/default/clerk-production"); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
			t.Errorf("clerk-production on a stripe-production ingress: %d, want it not served", code)
		}
	})

	t.Run("ingress command without NATS", func(t *testing.T) {
		ingressAddr, nowhere := freePort(t), freePort(t)
		p := start(t, "ingress starting", "ingress", "--kubeconfig", kubeconfig, "--namespace", "default",
			"--listen", ingressAddr, "--metrics-listen", "0", "--nats-url", "nats://inlet:s3cr3t-pw@"+nowhere, "--shutdown-delay", "0")
		var body string
		eventually(t, "ingress answering", 10*time.Second, func() bool {
			var code int
			code, body = get("http://" + ingressAddr + "/readyz")
			return code == http.StatusServiceUnavailable && strings.Contains(body, "NATS")
		})
		t.Logf("/readyz without NATS: %s", strings.TrimSpace(body))
		if code, _ := get("http://" + ingressAddr + "/healthz"); code != http.StatusOK {
			t.Errorf("/healthz without NATS: %d, want 200", code)
		}
		// The log says so at once, at error level, naming the server but not its password.
		eventually(t, "the NATS outage logged", 5*time.Second, func() bool {
			return strings.Contains(p.output(), `"msg":"cannot reach NATS; answering events 503 until it is back"`)
		})
		for line := range strings.Lines(p.output()) {
			if strings.Contains(line, "cannot reach NATS") && (!strings.Contains(line, `"level":"error"`) || !strings.Contains(line, nowhere)) {
				t.Errorf("outage log line without level error or the server %s: %s", nowhere, line)
			}
		}
		if strings.Contains(p.output(), "s3cr3t-pw") {
			t.Errorf("the ingress logged the NATS password:\n%s", p.output())
		}
	})
}

// countKind counts the objects of a kind in a folder's manifests.
func countKind(t *testing.T, dir, kind string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", dir, err)
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n += len(regexp.MustCompile(`(?m)^kind: `+kind+`\s*$`).FindAll(data, -1))
	}
	return n
}
