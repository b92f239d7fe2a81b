package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The shipped binary links no test machinery: controller-runtime's envtest and its
// internal packages create folders in $HOME/.cache or $TMPDIR when the program starts,
// which panics on a read-only root filesystem.
func TestBinaryLinksNoEnvtest(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/inlet")
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/inlet: %v\n%s", err, stderr.String())
	}
	for pkg := range strings.Lines(string(out)) {
		pkg = strings.TrimSpace(pkg)
		if pkg == "sigs.k8s.io/controller-runtime/pkg/envtest" ||
			strings.HasPrefix(pkg, "sigs.k8s.io/controller-runtime/pkg/envtest/") ||
			strings.HasPrefix(pkg, "sigs.k8s.io/controller-runtime/pkg/internal/testing") {
			t.Errorf("./cmd/inlet depends on %s, which must stay out of the shipped binary", pkg)
		}
	}
}

// unwritableDir returns a path where nothing can be created, as $HOME and $TMPDIR are
// in an ingress or operator pod: a folder without write permission, or, when the test
// runs as root (which writes there anyway), a path under a regular file.
func unwritableDir(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) }) // so that t.TempDir can remove it
	if f, err := os.Create(filepath.Join(dir, "probe")); err == nil {
		_ = f.Close()
		file := filepath.Join(t.TempDir(), name+"-is-a-file")
		if err := os.WriteFile(file, nil, 0o444); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(file, name)
	}
	return dir
}

// unreachableKubeconfig writes a kubeconfig for an API server that refuses connections
// and returns its path and the server's address.
func unreachableKubeconfig(t *testing.T) (string, string) {
	t.Helper()
	addr := freePort(t)
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: gone
  cluster: {server: "https://%s", insecure-skip-tls-verify: true}
contexts:
- name: gone
  context: {cluster: gone, user: someone, namespace: default}
current-context: gone
users:
- name: someone
  user: {token: not-a-real-token}
`, addr)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, addr
}

// The binary starts as it runs in its pods: read-only root filesystem, unwritable
// $HOME and $TMPDIR, and here an API server that cannot be reached. Neither the
// ingress nor the operator may panic: each keeps running or stops with an error that
// says what is wrong.
func TestBinaryStartsOnAReadOnlyFilesystem(t *testing.T) {
	home, tmp, cache := unwritableDir(t, "home"), unwritableDir(t, "tmp"), unwritableDir(t, "cache")
	kubeconfig, apiServer := unreachableKubeconfig(t)
	env := []string{"HOME=" + home, "TMPDIR=" + tmp, "XDG_CACHE_HOME=" + cache, "XDG_CONFIG_HOME=" + cache, "POD_NAME=inlet-readonly"}

	commands := map[string][]string{
		"ingress": {"ingress", "--namespace", "default", "--kubeconfig", kubeconfig,
			"--listen", freePort(t), "--metrics-listen", freePort(t), "--nats-url", "nats://" + freePort(t), "--shutdown-delay", "0"},
		"operator": {"operator", "--kubeconfig", kubeconfig, "--metrics-bind-address", "0",
			"--health-probe-bind-address", freePort(t), "--nats-url", "nats://" + freePort(t)},
	}
	for name, args := range commands {
		t.Run(name, func(t *testing.T) {
			workdir := filepath.Join(t.TempDir(), "workdir")
			if err := os.Mkdir(workdir, 0o555); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(binary, args...)
			cmd.Env, cmd.Dir = env, workdir
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()

			var err error
			alive := false
			select {
			case err = <-exited:
			case <-time.After(2 * time.Second):
				alive = true
				_ = cmd.Process.Signal(os.Interrupt)
				select {
				case err = <-exited:
				case <-time.After(20 * time.Second):
					_ = cmd.Process.Kill()
					err = <-exited
					t.Errorf("inlet %s did not stop within 20s of SIGINT", name)
				}
			}
			output := out.String()
			if panicked.MatchString(output) {
				t.Fatalf("inlet %s panicked with HOME and TMPDIR unwritable:\n%s", name, output)
			}
			if written, _ := os.ReadDir(workdir); len(written) > 0 {
				t.Errorf("inlet %s wrote %s into its working folder", name, written[0].Name())
			}
			if alive {
				t.Logf("inlet %s was running after 2s; it stopped on SIGINT with %v", name, err)
				return
			}
			// It stopped by itself: with an error, and one that names what it could not reach.
			last := lastLine(output)
			if err == nil || !strings.HasPrefix(last, "inlet: ") || !strings.Contains(last, apiServer) {
				t.Errorf("inlet %s stopped (%v) without an error naming the API server %s; output:\n%s", name, err, apiServer, output)
			}
			t.Logf("inlet %s stopped at once: %s", name, last)
		})
	}
}

// panicked matches the output of a Go program that panicked.
var panicked = regexp.MustCompile(`(?m)^(panic: |goroutine \d+ \[)`)

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
