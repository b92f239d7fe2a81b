//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestKubectlGetSourceEvents is issue 13's done-when, as a user types it: the event log
// is served by the operator as logs.inlet.dev through the kube-apiserver, so
// `kubectl get sourceevents -w` shows a signed sample event within 1s of its answer,
// `kubectl get sourceevent <id> -o yaml` shows its actions, and a user bound only to
// view in another namespace is forbidden.
func TestKubectlGetSourceEvents(t *testing.T) {
	dumpOnFailure(t)
	const name = "stripe-production"
	kc := cl.Client()
	waitSourceEnvironmentReady(t, kc, name)
	waitIngressReady(t, kc, name)
	waitUntil(t, readyTimeout, "the APIService v1alpha1.logs.inlet.dev to serve sourceevents", func() (bool, string) {
		out, err := cl.Kubectl(t.Context(), "get", "sourceevents", "-n", cl.Namespace, "--request-timeout=5s")
		return err == nil, out
	})

	// kubectl get sourceevents -w, reading its lines as they come.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	watch := exec.CommandContext(ctx, filepath.Join(cl.binDir, "kubectl"), "--kubeconfig", cl.Kubeconfig,
		"get", "sourceevents", "-n", cl.Namespace, "-w", "--field-selector", "sourceEnvironment="+name)
	stdout, err := watch.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = watch.Wait() }()
	lines := make(chan string, 1024)
	go func() {
		scan := bufio.NewScanner(stdout)
		for scan.Scan() {
			lines <- scan.Text()
		}
		close(lines)
	}()
	// The watch is running once the header (or a first row) is printed.
	select {
	case <-lines:
	case <-time.After(readyTimeout):
		t.Fatal("kubectl get sourceevents -w printed nothing")
	}

	s := newSender(t, kc, name, keepAliveClient(1))
	a := s.postOnceReachable(t, s.samples(t, "customer.subscription.created")(uniqueKey("logs")))
	answered := time.Now()
	if a.Status/100 != 2 || len(a.EventIDs) != 1 || a.Actions == 0 {
		t.Fatalf("a signed sample event: answered %s; want 2xx with one event and actions", a)
	}
	id := a.EventIDs[0]
	func() {
		deadline := time.After(time.Second)
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatal("kubectl get sourceevents -w ended")
				}
				if strings.HasPrefix(line, id+" ") {
					t.Logf("kubectl get sourceevents -w showed the event %s after the answer:\n%s",
						time.Since(answered).Round(time.Millisecond), line)
					if !strings.Contains(line, "accepted") || !strings.Contains(line, name) {
						t.Errorf("the row does not say %s accepted it: %s", name, line)
					}
					return
				}
			case <-deadline:
				t.Fatalf("kubectl get sourceevents -w did not show the event %s within 1s of its answer", id)
			}
		}
	}()

	t.Run("kubectl get sourceevent -o yaml shows its actions", func(t *testing.T) {
		out, err := cl.Kubectl(t.Context(), "get", "sourceevent", id, "-n", cl.Namespace, "-o", "yaml")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"kind: SourceEvent", "name: " + id, "actionLog:", "action: triggerWorkflow",
			"status: published", "payload:"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl get sourceevent %s -o yaml has no %q:\n%s", id, want, out)
			}
		}
		out, err = cl.Kubectl(t.Context(), "get", "sourceactions", "-n", cl.Namespace, "--field-selector", "eventID="+id)
		if err != nil || !strings.Contains(out, id+"-0") {
			t.Errorf("kubectl get sourceactions --field-selector eventID=%s: %v\n%s", id, err, out)
		}
	})

	t.Run("a user bound only to view in another namespace is forbidden", func(t *testing.T) {
		other := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-viewer-"}}
		if err := kc.Create(t.Context(), other); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = kc.Delete(context.Background(), other) })
		const viewer = "e2e-viewer"
		binding := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "viewer", Namespace: other.Name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: viewer}},
		}
		if err := kc.Create(t.Context(), binding); err != nil {
			t.Fatal(err)
		}
		// In their own namespace, view lists events (config/logsapi aggregates the
		// reader role into view), once RBAC has the binding.
		waitUntil(t, readyTimeout, "view in "+other.Name+" to list sourceevents there", func() (bool, string) {
			out, err := cl.Kubectl(t.Context(), "get", "sourceevents", "-n", other.Name, "--as", viewer)
			return err == nil, out
		})
		out, err := cl.Kubectl(t.Context(), "get", "sourceevents", "-n", cl.Namespace, "--as", viewer)
		if err == nil || !strings.Contains(out, "Forbidden") && !strings.Contains(out, "forbidden") {
			t.Errorf("a view user of %s listed sourceevents in %s: %v\n%s", other.Name, cl.Namespace, err, out)
		}
		out, err = cl.Kubectl(t.Context(), "get", "sourceevent", id, "-n", cl.Namespace, "--as", viewer)
		if err == nil || !strings.Contains(strings.ToLower(out), "forbidden") {
			t.Errorf("a view user of %s got sourceevent %s in %s: %v\n%s", other.Name, id, cl.Namespace, err, out)
		}
	})
}
