package watch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"inlet.dev/inlet/api/manifests"
	"inlet.dev/inlet/api/v1alpha1"
	sampleevents "inlet.dev/inlet/config/samples/events"
	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
	"inlet.dev/inlet/ingress/sign"
	"inlet.dev/inlet/ingress/watch"
	"inlet.dev/inlet/ingress/wire"
	"inlet.dev/inlet/internal/testenv"
)

// liveWithin is the generous bound the tests assert; the design asks for 2 s and the
// measured times are logged.
const liveWithin = 10 * time.Second

const stripeSecret = "whsec_test_secret" // config/samples/stripe.yaml

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.RunTests(m, func(e *testenv.Env) { env = e })
}

// fixture is an ingress fed by a Watcher, over real HTTP, publishing to a real NATS.
type fixture struct {
	t       *testing.T
	ns      string
	server  *ingress.Server
	http    *httptest.Server
	nats    *jetstream.Client
	watcher *watch.Watcher
}

// startIngress runs a Watcher with opts against cfg and an ingress.Server it feeds, and
// waits for the first snapshot.
func startIngress(t *testing.T, cfg *rest.Config, opts watch.Options) *fixture {
	t.Helper()
	_, url := natstest.Start(t)
	nc, err := jetstream.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect to nats: %v", err)
	}
	t.Cleanup(nc.Close)
	js := nc.JetStream()
	if _, err := jetstream.EnsureStream(t.Context(), js, jetstream.ActionStreamConfig(v1alpha1.DefaultActionStream, time.Hour, 1, natsjs.FileStorage)); err != nil {
		t.Fatal(err)
	}
	if _, err := jetstream.EnsureStream(t.Context(), js, jetstream.LogStreamConfig(v1alpha1.DefaultLogStream, time.Hour, 1, natsjs.FileStorage)); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ns: opts.Namespace, nats: nc}
	f.server = ingress.NewServer(ingress.Options{Publisher: nc, Logger: testr.New(t)})
	f.http = httptest.NewServer(f.server.Handler())
	t.Cleanup(f.http.Close)

	opts.Logger = testr.New(t)
	f.watcher, err = watch.New(cfg, opts, f.server.SetSnapshot)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.watcher.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watcher: %v", err)
		}
	})
	select {
	case <-f.watcher.Built():
	case err := <-done:
		t.Fatalf("watcher stopped before the first snapshot: %v", err)
	case <-time.After(liveWithin):
		t.Fatal("no snapshot built")
	}
	if err := f.server.Ready(); err != nil {
		t.Fatalf("ingress not ready after the first snapshot: %v", err)
	}
	return f
}

// newNamespace creates a namespace of its own for one test.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "watch-"}}
	if err := env.Client.Create(t.Context(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

// applySamples creates the objects of sample files (config/samples/<name>) in ns,
// leaving out the kinds in skip.
func applySamples(t *testing.T, ns string, files []string, skip ...string) {
	t.Helper()
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join(testenv.RepoRoot(), "config", "samples", f))
	}
	objs, err := manifests.LoadPaths(paths...)
	if err != nil {
		t.Fatalf("load samples: %v", err)
	}
outer:
	for _, o := range objs {
		for _, kind := range skip {
			if o.GetKind() == kind {
				continue outer
			}
		}
		o.SetNamespace(ns)
		if err := env.Client.Create(t.Context(), o.Unstructured); err != nil {
			t.Fatalf("create %s: %v", o.Origin(), err)
		}
	}
}

// sendStripe posts a fresh customer.subscription.deleted sample, signed with secret, to
// stripe-production and returns the status code.
func (f *fixture) sendStripe(secret string) int {
	f.t.Helper()
	sample, err := sampleevents.Sample("stripe", "customer.subscription.deleted")
	if err != nil {
		f.t.Fatal(err)
	}
	var event map[string]any
	if err := json.Unmarshal(sample, &event); err != nil {
		f.t.Fatal(err)
	}
	event["id"] = "evt_" + nuid.Next() // a new event each time, not a replay
	body, _ := json.Marshal(event)
	req, _ := http.NewRequest(http.MethodPost, f.http.URL+"/e/"+f.ns+"/stripe-production", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", sign.Stripe(secret, time.Now(), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("post: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// lastWorkflow returns the workflow of the latest triggerWorkflow action published.
func (f *fixture) lastWorkflow() string {
	f.t.Helper()
	msgs, err := f.nats.LastMessages(f.t.Context(), v1alpha1.DefaultActionStream, jetstream.ActionSubject("production", "triggerWorkflow"), 1)
	if err != nil || len(msgs) == 0 {
		f.t.Fatalf("no triggerWorkflow action published (%v)", err)
	}
	var a wire.ActionMessage
	if err := json.Unmarshal(msgs[0].Data, &a); err != nil {
		f.t.Fatal(err)
	}
	workflow, _ := a.Params["workflow"].(string)
	return workflow
}

// waitFor polls cond until it holds and logs how long after start (the moment the
// change was written) that was, failing the test past liveWithin.
func waitFor(t *testing.T, what string, start time.Time, cond func() bool) {
	t.Helper()
	for !cond() {
		if time.Since(start) > liveWithin {
			t.Fatalf("%s: not within %s", what, liveWithin)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("%s: live after %s", what, time.Since(start).Round(time.Millisecond))
}

func TestServesStripeSampleAndFollowsMappingEdits(t *testing.T) {
	ns := newNamespace(t)
	applySamples(t, ns, []string{"stripe.yaml"})
	f := startIngress(t, env.Config, watch.Options{Namespace: ns})

	if code := f.sendStripe(stripeSecret); code != http.StatusOK {
		t.Fatalf("signed Stripe event: %d, want 200", code)
	}
	if got := f.lastWorkflow(); got != "win-back" {
		t.Fatalf("workflow = %q, want win-back", got)
	}

	var m v1alpha1.EventMapping
	key := types.NamespacedName{Namespace: ns, Name: "stripe-winback"}
	if err := env.Client.Get(t.Context(), key, &m); err != nil {
		t.Fatal(err)
	}
	m.Spec.Actions[0].TriggerWorkflow.Workflow = "win-back-v2"
	written := time.Now()
	if err := env.Client.Update(t.Context(), &m); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "edited EventMapping", written, func() bool {
		e := f.server.Snapshot().Lookup(types.NamespacedName{Namespace: ns, Name: "stripe-production"})
		ms := e.Mappings("customer.subscription.deleted")
		return len(ms) == 1 && ms[0].Generation == m.Generation
	})
	if code := f.sendStripe(stripeSecret); code != http.StatusOK {
		t.Fatalf("signed Stripe event after the edit: %d, want 200", code)
	}
	if got := f.lastWorkflow(); got != "win-back-v2" {
		t.Errorf("workflow after the edit = %q, want win-back-v2", got)
	}
}

func TestRotatedSigningSecretIsLive(t *testing.T) {
	ns := newNamespace(t)
	applySamples(t, ns, []string{"stripe.yaml"})
	f := startIngress(t, env.Config, watch.Options{Namespace: ns})
	if code := f.sendStripe(stripeSecret); code != http.StatusOK {
		t.Fatalf("signed Stripe event: %d, want 200", code)
	}

	var s corev1.Secret
	if err := env.Client.Get(t.Context(), types.NamespacedName{Namespace: ns, Name: "stripe-webhook"}, &s); err != nil {
		t.Fatal(err)
	}
	const rotated = "whsec_rotated_secret"
	s.Data = map[string][]byte{"secret": []byte(rotated)}
	written := time.Now()
	if err := env.Client.Update(t.Context(), &s); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "rotated signing Secret", written, func() bool {
		return f.sendStripe(stripeSecret) == http.StatusUnauthorized
	})
	if code := f.sendStripe(rotated); code != http.StatusOK {
		t.Errorf("event signed with the new secret: %d, want 200", code)
	}
	if code := f.sendStripe(stripeSecret); code != http.StatusUnauthorized {
		t.Errorf("event signed with the old secret: %d, want 401", code)
	}
}

func TestSecretCreatedLaterIsServed(t *testing.T) {
	ns := newNamespace(t)
	applySamples(t, ns, []string{"stripe.yaml"}, "Secret")
	f := startIngress(t, env.Config, watch.Options{Namespace: ns})
	if code := f.sendStripe(stripeSecret); code != http.StatusNotFound {
		t.Fatalf("event for a SourceEnvironment without its Secret: %d, want 404", code)
	}
	problems := f.server.Snapshot().Problems
	if !slices.ContainsFunc(problems, func(p config.Problem) bool {
		return p.Kind == "SourceEnvironment" && p.Reason == v1alpha1.ReasonSecretNotFound
	}) {
		t.Fatalf("problems = %v, want the SourceEnvironment's %s", problems, v1alpha1.ReasonSecretNotFound)
	}

	written := time.Now()
	applySamples(t, ns, []string{"stripe.yaml"}, "Source", "SourceEnvironment", "EventMapping")
	waitFor(t, "Secret created after its SourceEnvironment", written, func() bool {
		return f.sendStripe(stripeSecret) == http.StatusOK
	})
}

// TestOneSourceEnvironmentWithNamedSecretsOnly runs the watcher as an ingress pod runs:
// one SourceEnvironment, as a user whose Role reads Secrets by resourceNames only.
func TestOneSourceEnvironmentWithNamedSecretsOnly(t *testing.T) {
	ns := newNamespace(t)
	applySamples(t, ns, []string{"stripe.yaml", "clerk.yaml", "http-github.yaml"})
	cfg := ingressUser(t, ns, "stripe-webhook")
	f := startIngress(t, cfg, watch.Options{Namespace: ns, SourceEnvironment: "stripe-production"})

	snap := f.server.Snapshot()
	envs := snap.Environments()
	if len(envs) != 1 || envs[0].Key.Name != "stripe-production" || len(snap.Problems) != 0 {
		t.Fatalf("served %d environments with problems %v, want stripe-production alone", len(envs), snap.Problems)
	}
	if n := envs[0].MappingCount(); n != 3 {
		t.Errorf("stripe-production has %d mappings, want the sample's 3", n)
	}
	if code := f.sendStripe(stripeSecret); code != http.StatusOK {
		t.Fatalf("signed Stripe event: %d, want 200", code)
	}

	var s corev1.Secret
	if err := env.Client.Get(t.Context(), types.NamespacedName{Namespace: ns, Name: "stripe-webhook"}, &s); err != nil {
		t.Fatal(err)
	}
	s.Data = map[string][]byte{"secret": []byte("whsec_rotated")}
	written := time.Now()
	if err := env.Client.Update(t.Context(), &s); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "rotated Secret read by name", written, func() bool { return f.sendStripe("whsec_rotated") == http.StatusOK })
}

// ingressUser returns a configuration for a user bound to the Role the operator gives
// an ingress: inlet's kinds in ns, and only the named Secrets.
func ingressUser(t *testing.T, ns string, secrets ...string) *rest.Config {
	t.Helper()
	name := "ingress-" + ns
	user, err := env.AddUser(envtest.User{Name: name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	read := []string{"get", "list", "watch"}
	objs := []client.Object{
		&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"sources", "sourceenvironments", "eventmappings"}, Verbs: read},
				{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: secrets, Verbs: read},
			},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}},
		},
	}
	for _, o := range objs {
		if err := env.Client.Create(t.Context(), o); err != nil {
			t.Fatal(err)
		}
	}
	// The Role really is enforced: listing the namespace's Secrets is refused.
	c, err := client.New(user.Config(), client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.List(t.Context(), &corev1.SecretList{}, client.InNamespace(ns)); !apierrors.IsForbidden(err) {
		t.Fatalf("listing Secrets as the ingress user: %v, want forbidden", err)
	}
	return user.Config()
}
