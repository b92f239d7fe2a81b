//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain brings up the node, deploys inlet on it as the README's "Running it in a
// cluster" says, runs the tests, and tears everything down, also when a step fails,
// the run is interrupted or it takes longer than E2E_TIMEOUT (default 40m).
func TestMain(m *testing.M) {
	root, err := filepath.Abs("../..")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	binDir := os.Getenv("INLET_ASSETS_DIR")
	if binDir == "" {
		cache, _ := os.UserCacheDir()
		binDir = filepath.Join(cache, "inlet", "control-plane-v1.37.2")
	}
	dir := os.Getenv("E2E_DIR")
	if dir == "" {
		cache, _ := os.UserCacheDir()
		dir = filepath.Join(cache, "inlet", "e2e")
	}
	cl = newCluster(root, binDir, dir)

	var once sync.Once
	teardown := func() {
		once.Do(func() {
			restoreKustomization()
			if os.Getenv("E2E_KEEP") != "" {
				fmt.Printf("e2e: E2E_KEEP is set: the cluster keeps running. KUBECONFIG=%s; Ctrl-C tears it down\n", cl.Kubeconfig)
				wait := make(chan os.Signal, 1)
				signal.Notify(wait, os.Interrupt, syscall.SIGTERM)
				<-wait
			}
			cl.Down()
		})
	}
	timeout := 40 * time.Minute
	if d, err := time.ParseDuration(os.Getenv("E2E_TIMEOUT")); err == nil {
		timeout = d
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		select {
		case s := <-sig:
			fmt.Printf("e2e: %v: tearing down\n", s)
		case <-time.After(timeout):
			fmt.Printf("e2e: still running after %s (E2E_TIMEOUT): tearing down\n", timeout)
		}
		cancel()
		teardown()
		os.Exit(2)
	}()

	code := 1
	if err := cl.Up(ctx); err != nil {
		fmt.Printf("e2e: FAIL bringing up the node: %v\n(component logs in %s)\n", err, cl.logDir())
	} else if err := deployAsREADME(ctx); err != nil {
		fmt.Printf("e2e: FAIL deploying inlet as the README says: %v\n", err)
		out, _ := cl.Kubectl(context.Background(), "get", "pods,events", "-A")
		fmt.Println(out)
	} else {
		code = m.Run()
	}
	teardown()
	os.Exit(code)
}

// kustomization is config/manager/kustomization.yaml as it was before `make deploy`
// rewrote its image.
var kustomization []byte

func restoreKustomization() {
	if kustomization != nil {
		_ = os.WriteFile(filepath.Join(cl.Root, "config", "manager", "kustomization.yaml"), kustomization, 0o644)
	}
}

// deployAsREADME runs the README's steps for a cluster: make image, import it into the
// node's containerd, make deploy with the NATS URL, apply the samples.
func deployAsREADME(ctx context.Context) error {
	kustomization, _ = os.ReadFile(filepath.Join(cl.Root, "config", "manager", "kustomization.yaml"))
	env := append(os.Environ(), "KUBECONFIG="+cl.Kubeconfig, "KUBECTL="+filepath.Join(cl.binDir, "kubectl"))
	steps := [][]string{
		{"make", "image"},
		{"ctr", "--address", cl.containerdSocket(), "-n", "k8s.io", "images", "import", "bin/inlet-image.tar"},
		{"make", "deploy", "NATS_URL=" + cl.NATSURL},
		{filepath.Join(cl.binDir, "kubectl"), "-n", "inlet-system", "rollout", "status", "deployment/inlet-operator", "--timeout=240s"},
		{filepath.Join(cl.binDir, "kubectl"), "apply", "-f", "config/samples/"},
	}
	for _, s := range steps {
		cl.step("$ %s", strings.Join(s, " "))
		cmd := exec.CommandContext(ctx, s[0], s[1:]...)
		cmd.Dir, cmd.Env = cl.Root, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(s, " "), err, out)
		}
	}
	return nil
}
