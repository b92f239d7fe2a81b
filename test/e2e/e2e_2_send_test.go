//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"inlet.dev/inlet/internal/localcluster"
)

// TestREADMESendThroughAPortForward is step 3 of the README's "Running it in a
// cluster", as a user types it: kubectl port-forward to the ingress Service, then
// `inlet send --cluster` reads the SourceEnvironment and its Secrets through the
// kubeconfig, signs the sample and gets it accepted, for a signed source and for a
// source behind an endpoint token. No secret or token is printed.
func TestREADMESendThroughAPortForward(t *testing.T) {
	dumpOnFailure(t)
	inlet := filepath.Join(t.TempDir(), "inlet")
	build := exec.Command("go", "build", "-o", inlet, "./cmd/inlet")
	build.Dir = cl.Root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/inlet: %v\n%s", err, out)
	}
	for _, c := range []struct {
		sourceEnvironment, sample string
		secrets                   []string // values that must not be printed
	}{
		{"stripe-production", "customer.subscription.created", []string{secretValue(t, cl.Client(), "stripe-webhook", "secret")}},
		{"segment-production", "identify", []string{secretValue(t, cl.Client(), "segment-production-endpoint-token", "token")}},
	} {
		t.Run(c.sourceEnvironment, func(t *testing.T) {
			waitIngressReady(t, cl.Client(), c.sourceEnvironment)
			local := portForward(t, "svc/"+ingressObjectName(c.sourceEnvironment), 8080)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			send := exec.CommandContext(ctx, inlet, "send", "--cluster", "--kubeconfig", cl.Kubeconfig,
				"--url", "http://"+local, "-e", c.sourceEnvironment, "--sample", c.sample)
			send.Dir = cl.Root
			out, err := send.CombinedOutput()
			t.Logf("$ inlet send --cluster --url http://%s -e %s --sample %s\n%s", local, c.sourceEnvironment, c.sample, out)
			if err != nil || !strings.HasPrefix(string(out), "200 OK") || !regexp.MustCompile(`"actions":[1-9]`).Match(out) {
				t.Errorf("inlet send = %v, want 200 OK with actions", err)
			}
			for _, s := range c.secrets {
				if s != "" && strings.Contains(string(out), s) {
					t.Errorf("inlet send printed a secret or token")
				}
			}
		})
	}
}

// portForward runs kubectl port-forward to target's port on a free local port until the
// test ends, and returns the local address once it forwards.
func portForward(t *testing.T, target string, port int) string {
	t.Helper()
	local, err := localcluster.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, filepath.Join(cl.binDir, "kubectl"), "--kubeconfig", cl.Kubeconfig, "-n", cl.Namespace,
		"port-forward", target, fmt.Sprintf("%d:%d", local, port), "--address", "127.0.0.1")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		var seen strings.Builder
		forwarding := false
		scan := bufio.NewScanner(stdout)
		for scan.Scan() { // read to the end, so that kubectl never blocks on its output
			seen.WriteString(scan.Text() + "\n")
			if !forwarding && strings.HasPrefix(scan.Text(), "Forwarding from") {
				forwarding = true
				ready <- ""
			}
		}
		if !forwarding {
			ready <- seen.String()
		}
	}()
	select {
	case out := <-ready:
		if out != "" {
			t.Fatalf("kubectl port-forward %s stopped before forwarding:\n%s", target, out)
		}
	case <-time.After(readyTimeout):
		t.Fatalf("kubectl port-forward %s did not forward within %s", target, readyTimeout)
	}
	return fmt.Sprintf("127.0.0.1:%d", local)
}
