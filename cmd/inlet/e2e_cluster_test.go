package main_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/controllers/testenv"
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
func TestClusterMode(t *testing.T) {
	assets := controlPlaneDir(t)
	dir := t.TempDir()
	addr, natsAddr := freePort(t), freePort(t)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	samples := filepath.Join(repoRoot(), "config", "samples")
	start(t, "Ctrl-C stops everything", "cluster",
		"--control-plane-dir", assets, "--crds", filepath.Join(repoRoot(), "config", "crd", "bases"),
		"--samples", samples, "--kubeconfig-out", kubeconfig, "--data", filepath.Join(dir, "data"),
		"--listen", addr, "--nats-listen", natsAddr)

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
	c, err := client.New(cfg, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	took = eventually(t, "status counters", 60*time.Second, func() bool {
		var se v1alpha1.SourceEnvironment
		err := c.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: "stripe-production"}, &se)
		return err == nil && se.Status.EventsReceived >= 1 && se.Status.ActionsPublished >= 2
	})
	t.Logf("status counters rose after %s", took.Round(time.Millisecond))

	t.Run("ingress command", func(t *testing.T) {
		ingressAddr := freePort(t)
		start(t, "ingress starting", "ingress", "--kubeconfig", kubeconfig, "--namespace", "default",
			"--source-environment", "stripe-production", "--listen", ingressAddr,
			"--nats-url", "nats://"+natsAddr, "--instance", "e2e", "--shutdown-delay", "0")
		eventually(t, "ingress ready", 20*time.Second, func() bool {
			code, _ := get("http://" + ingressAddr + "/readyz")
			return code == http.StatusOK
		})
		if !send("http://"+ingressAddr, "stripe-production", "customer.subscription.deleted")() {
			t.Error("stripe event to the ingress command was not accepted")
		}
		if code, _ := get("http://" + ingressAddr + "/e/default/clerk-production"); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
			t.Errorf("clerk-production on a stripe-production ingress: %d, want it not served", code)
		}
	})

	t.Run("ingress command without NATS", func(t *testing.T) {
		ingressAddr := freePort(t)
		start(t, "ingress starting", "ingress", "--kubeconfig", kubeconfig, "--namespace", "default",
			"--listen", ingressAddr, "--nats-url", "nats://"+freePort(t), "--shutdown-delay", "0")
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
	})
}
