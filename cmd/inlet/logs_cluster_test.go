package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/wire"
	"inlet.dev/inlet/internal/localcluster"
	"inlet.dev/inlet/internal/logsapi"
	"inlet.dev/inlet/internal/testenv"
)

// inlet events and inlet actions with --kubeconfig read the logs.inlet.dev API the
// operator serves (here the operator's logs API runnable, registered as inlet cluster
// registers it), not NATS: the latest records of one SourceEnvironment, one event in
// full, and Forbidden for a user RBAC gives nothing.
func TestInletEventsReadTheClusterAPI(t *testing.T) {
	env, err := testenv.StartAggregating()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	client, natsURL := natsWithStreams(t, "logs-cluster-test")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api := &logsAPI{
		opts: logsAPIOptions{stream: v1alpha1.DefaultLogStream}, kube: env.Config, listener: ln, log: logr.Discard(),
		natsURL: func(context.Context) string { return natsURL },
		served: func(ctx context.Context, port int) error {
			return logsapi.Register(ctx, env.Client, logsapi.Registration{Namespace: "default", Service: "inlet-logs-api",
				Host: "localhost", Port: int32(port)})
		},
	}
	go func() { _ = api.Start(ctx) }()
	wait, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	if err := logsapi.WaitServed(wait, env.Config); err != nil {
		t.Fatal(err)
	}

	now := time.Now().UTC()
	for i, id := range []string{"ev1", "ev2", "ev3"} {
		rec := wire.EventRecord{Kind: "event", ID: id, Time: now.Add(time.Duration(i) * time.Second), Namespace: "shop",
			SourceEnvironment: "stripe-production", Source: "stripe", SourceType: "stripe", Environment: "production",
			Type: "customer.created", Verified: true, Status: wire.EventAccepted, Actions: 1,
			ActionLog: []wire.ActionRecord{{EventID: id, Time: now, Namespace: "shop", SourceEnvironment: "stripe-production",
				EventType: "customer.created", Mapping: "welcome", Action: "triggerWorkflow", Status: wire.ActionPublished, Sequence: 7}}}
		other := rec
		other.ID, other.SourceEnvironment = id+"-other", "clerk-production"
		for _, r := range []*wire.EventRecord{&rec, &other} {
			m, err := jetstream.EncodeEventRecord(r)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.JetStream().Publish(ctx, m.Subject, m.Data); err != nil {
				t.Fatal(err)
			}
		}
	}
	admin := filepath.Join(t.TempDir(), "admin")
	if err := localcluster.WriteKubeconfig(env.Config, admin, "admin"); err != nil {
		t.Fatal(err)
	}
	run := func(kubeconfig string, args ...string) (string, error) {
		var out bytes.Buffer
		cmd := newLogCommand(args[0], args[0], args[0] == "events")
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append(args[1:], "--kubeconfig", kubeconfig, "-n", "shop", "--nats-url", "nats://127.0.0.1:1"))
		err := cmd.ExecuteContext(ctx)
		return out.String(), err
	}

	out, err := run(admin, "events", "stripe-production", "--limit", "2")
	if err != nil {
		t.Fatalf("inlet events --kubeconfig: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "EVENT ID") || !strings.Contains(lines[1], "ev2") ||
		!strings.Contains(lines[2], "ev3") || strings.Contains(out, "other") {
		t.Errorf("inlet events --limit 2 printed, want the header, ev2 and ev3 of stripe-production:\n%s", out)
	}
	out, err = run(admin, "actions", "stripe-production", "-o", "json")
	if err != nil || strings.Count(out, `"kind":"SourceAction"`) != 3 || !strings.Contains(out, `"action":"triggerWorkflow"`) {
		t.Errorf("inlet actions -o json: %v\n%s", err, out)
	}
	out, err = run(admin, "events", "stripe-production", "--id", "ev1")
	if err != nil || !strings.Contains(out, `"actionLog"`) || !strings.Contains(out, `"name": "ev1"`) {
		t.Errorf("inlet events --id ev1: %v\n%s", err, out)
	}

	nobody, err := env.ControlPlane.AddUser(envtest.User{Name: "nobody"}, env.Config)
	if err != nil {
		t.Fatal(err)
	}
	nobodyFile := filepath.Join(t.TempDir(), "nobody")
	if err := localcluster.WriteKubeconfig(nobody.Config(), nobodyFile, "nobody"); err != nil {
		t.Fatal(err)
	}
	if out, err := run(nobodyFile, "events", "stripe-production"); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("a user without permission: got %v\n%s, want forbidden", err, out)
	}
}
