package main_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"inlet.dev/inlet/api/manifests"
	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/wire"
	"inlet.dev/inlet/internal/testenv"
)

// cutMapping removes the EventMapping named name from a sample file and returns it as
// a manifest of its own.
func cutMapping(t *testing.T, file, name string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(data), "\n---\n")
	var keep []string
	cut := ""
	for _, d := range docs {
		if strings.Contains(d, "kind: EventMapping") && strings.Contains(d, "name: "+name+"\n") {
			cut = d
			continue
		}
		keep = append(keep, d)
	}
	if cut == "" {
		t.Fatalf("no EventMapping %s in %s", name, file)
	}
	if err := os.WriteFile(file, []byte(strings.Join(keep, "\n---\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return cut
}

// storedActions reads every action message in the action stream of a NATS server.
func storedActions(t *testing.T, natsAddr string) []wire.ActionMessage {
	t.Helper()
	c, err := jetstream.Connect(context.Background(), "nats://"+natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msgs, err := c.LastMessages(context.Background(), v1alpha1.DefaultActionStream, jetstream.ActionStreamSubject, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]wire.ActionMessage, 0, len(msgs))
	for _, m := range msgs {
		var a wire.ActionMessage
		if err := json.Unmarshal(m.Data, &a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func countMapping(actions []wire.ActionMessage, mapping string) int {
	n := 0
	for _, a := range actions {
		if a.Mapping == mapping {
			n++
		}
	}
	return n
}

// A user whose payment-failed mapping was missing adds it, sees with a dry run what the
// events it missed would now publish, replays them, and finds each missing action
// stored once: through inlet dev, with the configuration read from its folder.
func TestReplayThroughInletDev(t *testing.T) {
	dir := copySamples(t)
	paymentFailed := cutMapping(t, filepath.Join(dir, "stripe.yaml"), "stripe-payment-failed")
	data := filepath.Join(t.TempDir(), "data")
	listen, natsAddr := freePort(t), freePort(t)
	start(t, "inlet dev is up", "dev", "--dir", dir, "--data", data, "--listen", listen, "--metrics-listen", "0", "--nats-listen", natsAddr)
	send := func(args ...string) string {
		out, err := run(t, append([]string{"send", "--dir", dir, "--data-dir", data, "--url", "http://" + listen}, args...)...)
		if err != nil || !strings.Contains(out, "200 OK") {
			t.Fatalf("send %v: %v\n%s", args, err, out)
		}
		return out
	}
	send("-e", "stripe-production", "--sample", "invoice.payment_failed")
	send("-e", "stripe-production", "--sample", "customer.subscription.created")
	before := storedActions(t, natsAddr)
	if len(before) != 2 || countMapping(before, "stripe-payment-failed") != 0 {
		t.Fatalf("before the fix, %d actions stored: %+v", len(before), before)
	}
	// The event log is written in the background.
	eventually(t, "the event records", 5e9, func() bool {
		out, _ := run(t, "events", "stripe-production", "--nats-url", "nats://"+natsAddr)
		return strings.Count(out, "accepted") == 2
	})

	// The fix: the mapping goes back into the folder.
	if err := os.WriteFile(filepath.Join(dir, "payment-failed.yaml"), []byte(paymentFailed), 0o600); err != nil {
		t.Fatal(err)
	}
	replay := func(args ...string) string {
		out, err := run(t, append([]string{"replay", "stripe-production", "--dir", dir, "--nats-url", "nats://" + natsAddr}, args...)...)
		if err != nil {
			t.Fatalf("replay %v: %v\n%s", args, err, out)
		}
		return out
	}
	dry := replay("--dry-run", "--since", "1h")
	if !strings.Contains(dry, "stripe-payment-failed") || !strings.Contains(dry, "would publish") ||
		!strings.Contains(dry, "2 events considered in default/stripe-production, 2 replayed: 1 action would be published, 2 already stored") {
		t.Errorf("the dry run does not show the missing action:\n%s", dry)
	}
	if n := len(storedActions(t, natsAddr)); n != 2 {
		t.Fatalf("the dry run stored %d actions", n-2)
	}

	out := replay("--outcome", "no-actions")
	if !strings.Contains(out, "1 event considered in default/stripe-production, 1 replayed: 1 action published") {
		t.Errorf("replay --outcome no-actions:\n%s", out)
	}
	after := storedActions(t, natsAddr)
	if len(after) != 3 || countMapping(after, "stripe-payment-failed") != 1 {
		t.Fatalf("after the replay, %d actions stored, %d of stripe-payment-failed; want 3 and 1", len(after), countMapping(after, "stripe-payment-failed"))
	}
	// Everything again, as JSON: nothing new.
	out = replay("-o", "json")
	if len(storedActions(t, natsAddr)) != 3 || !strings.Contains(out, `"published":0`) || !strings.Contains(out, `"status":"already stored"`) {
		t.Errorf("a second replay published again:\n%s", out)
	}
	// The replay is in the event log, marked with the event it replayed.
	events, err := run(t, "events", "stripe-production", "--nats-url", "nats://"+natsAddr, "-o", "json")
	if err != nil || !strings.Contains(events, `"replayOf":`) {
		t.Errorf("inlet events shows no replay: %v\n%s", err, events)
	}
	// What a user is told when the selection is wrong.
	if out, err := run(t, "replay", "stripe-production", "--dir", dir, "--nats-url", "nats://"+natsAddr, "--outcome", "lost"); err == nil ||
		!strings.Contains(out, "--outcome is one of no-actions, failed, refused") {
		t.Errorf("replay --outcome lost: %v\n%s", err, out)
	}
}

// The operator path: the configuration is read from the cluster (where the mapping was
// fixed), not from the folder the events were received with, and NATS is reached by
// URL, as through a port-forward. The user may read the resources and nothing else.
func TestReplayWithTheClustersConfiguration(t *testing.T) {
	controlPlaneDir(t)
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()

	// The cluster has every sample mapping; the ingress's folder lacks win-back.
	objs, err := manifests.LoadPaths(filepath.Join(repoRoot(), "config", "samples", "stripe.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		o.SetNamespace("default")
		if err := env.Client.Create(ctx, o.Unstructured); err != nil {
			t.Fatalf("create %s: %v", o.Origin(), err)
		}
	}
	dir := copySamples(t)
	cutMapping(t, filepath.Join(dir, "stripe.yaml"), "stripe-winback")
	data := filepath.Join(t.TempDir(), "data")
	listen, natsAddr := freePort(t), freePort(t)
	start(t, "inlet dev is up", "dev", "--dir", dir, "--data", data, "--listen", listen, "--metrics-listen", "0", "--nats-listen", natsAddr)
	if out, err := run(t, "send", "--dir", dir, "--data-dir", data, "--url", "http://"+listen,
		"-e", "stripe-production", "--sample", "customer.subscription.deleted"); err != nil || !strings.Contains(out, `"actions":0`) {
		t.Fatalf("send: %v\n%s", err, out)
	}
	eventually(t, "the event record", 5e9, func() bool {
		out, _ := run(t, "events", "stripe-production", "--nats-url", "nats://"+natsAddr)
		return strings.Contains(out, "accepted")
	})

	replayer := kubeconfigFor(t, env, "replayer")
	mustCreate(t, env.Client, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "inlet-replayer"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"sourceenvironments", "sources"}, Verbs: []string{"get"}},
			{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"eventmappings"}, Verbs: []string{"list"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
		},
	})
	mustCreate(t, env.Client, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "inlet-replayer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "inlet-replayer"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "replayer"}},
	})

	out, err := run(t, "replay", "stripe-production", "--kubeconfig", replayer, "-n", "default", "--nats-url", "nats://"+natsAddr)
	if err != nil || !strings.Contains(out, "stripe-winback") || !strings.Contains(out, "1 action published") {
		t.Fatalf("replay with the cluster's configuration: %v\n%s", err, out)
	}
	if actions := storedActions(t, natsAddr); len(actions) != 1 || actions[0].Mapping != "stripe-winback" {
		t.Errorf("stored %+v, want the win-back trigger", actions)
	}
	// A user who may not read the mappings is told so.
	nobody := kubeconfigFor(t, env, "nobody")
	if out, err := run(t, "replay", "stripe-production", "--kubeconfig", nobody, "-n", "default", "--nats-url", "nats://"+natsAddr); err == nil ||
		!strings.Contains(out, "you may not read SourceEnvironment default/stripe-production") {
		t.Errorf("replay without rights: %v\n%s", err, out)
	}
}
