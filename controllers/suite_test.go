package controllers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/nats-io/nats.go/jetstream"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"inlet.dev/inlet/api/manifests"
	"inlet.dev/inlet/api/v1alpha1"
	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
	"inlet.dev/inlet/internal/testenv"
)

// env is the control plane every test in this package shares; each test works in a
// namespace of its own with a manager of its own.
var env *testenv.Env

func TestMain(m *testing.M) {
	if os.Getenv("INLET_TEST_LOG") != "" {
		logf.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr)))
	} else {
		logf.SetLogger(logr.Discard())
	}
	testenv.RunTests(m, func(e *testenv.Env) { env = e })
}

// harness is one test's namespace, NATS server and running operator.
type harness struct {
	t   *testing.T
	ns  string
	c   client.Client
	url string
	js  jetstream.JetStream
}

// start creates a namespace and a NATS server, and runs the reconcilers in a manager
// that watches only that namespace. opts.NATSURL is set to the server; a zero
// IngressImage gets "inlet:test", a zero ResyncInterval a short one, and a ConfigMap
// without namespace the test's namespace.
func start(t *testing.T, opts Options) *harness {
	t.Helper()
	_, url := natstest.Start(t)
	return startOn(t, opts, url)
}

// startOn is start with the NATS server (or cluster: comma-separated URLs) at url.
func startOn(t *testing.T, opts Options, url string) *harness {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	nc, err := inletjs.Connect(cctx, url, inletjs.WithName(t.Name()))
	if err != nil {
		t.Fatalf("connect to nats: %v", err)
	}
	t.Cleanup(nc.Close)

	if opts.NATSURL == "" {
		opts.NATSURL = url
	}
	if opts.IngressImage == "" && !opts.InProcessIngress {
		opts.IngressImage = "inlet:test"
	}
	if opts.ResyncInterval == 0 {
		opts.ResyncInterval = time.Second
	}
	if opts.ConfigMap.Name != "" && opts.ConfigMap.Namespace == "" {
		opts.ConfigMap.Namespace = ns.Name
	}
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{ns.Name: {}}, ByObject: CacheByObject(opts)},
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             ctrlconfig.Controller{SkipNameValidation: new(true)},
	})
	if err != nil {
		t.Fatalf("create manager: %v", err)
	}
	if err := SetupWithManager(mgr, opts); err != nil {
		t.Fatalf("SetupWithManager: %v", err)
	}
	mctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	return &harness{t: t, ns: ns.Name, c: env.Client, url: url, js: nc.JetStream()}
}

// eventually polls f until it returns nil, failing the test with f's last error after
// 30 seconds.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// key names an object of the test's namespace.
func (h *harness) key(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: h.ns, Name: name}
}

// ctx is a context bounded by the test's life.
func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

// create creates objects in the test's namespace.
func (h *harness) create(objs ...client.Object) {
	h.t.Helper()
	for _, o := range objs {
		o.SetNamespace(h.ns)
		if err := h.c.Create(h.ctx(), o); err != nil {
			h.t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

// applySamples creates the objects of the given files of config/samples (all of
// them when none is given).
func (h *harness) applySamples(files ...string) {
	h.t.Helper()
	dir := filepath.Join(testenv.RepoRoot(), "config", "samples")
	paths := []string{dir}
	if len(files) > 0 {
		paths = make([]string, 0, len(files))
		for _, f := range files {
			paths = append(paths, filepath.Join(dir, f))
		}
	}
	objs, err := manifests.LoadPaths(paths...)
	if err != nil {
		h.t.Fatalf("load samples: %v", err)
	}
	for _, o := range objs {
		o.SetNamespace(h.ns)
		if err := h.c.Create(h.ctx(), o.Unstructured); err != nil {
			h.t.Fatalf("create %s: %v", o.Origin(), err)
		}
	}
}

// sourceEnvironment reads a SourceEnvironment.
func (h *harness) sourceEnvironment(name string) (*v1alpha1.SourceEnvironment, error) {
	se := &v1alpha1.SourceEnvironment{}
	return se, h.c.Get(h.ctx(), h.key(name), se)
}

// updateSourceEnvironment changes a SourceEnvironment's spec with change, reading it
// again when the operator wrote its status meanwhile.
func (h *harness) updateSourceEnvironment(name string, change func(*v1alpha1.SourceEnvironment)) {
	h.t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		se, err := h.sourceEnvironment(name)
		if err != nil {
			return err
		}
		change(se)
		return h.c.Update(h.ctx(), se)
	})
	if err != nil {
		h.t.Fatalf("update SourceEnvironment %s: %v", name, err)
	}
}

// eventMapping reads an EventMapping.
func (h *harness) eventMapping(name string) (*v1alpha1.EventMapping, error) {
	m := &v1alpha1.EventMapping{}
	return m, h.c.Get(h.ctx(), h.key(name), m)
}

// hasCondition checks a condition's status and reason, and that it describes the
// object's current generation.
func hasCondition(conds []metav1.Condition, generation int64, typ string, status metav1.ConditionStatus, reason string) error {
	c := meta.FindStatusCondition(conds, typ)
	switch {
	case c == nil:
		return fmt.Errorf("no %s condition in %v", typ, conds)
	case c.Status != status || c.Reason != reason:
		return fmt.Errorf("%s is %s/%s (%s), want %s/%s", typ, c.Status, c.Reason, c.Message, status, reason)
	case c.ObservedGeneration != generation:
		return fmt.Errorf("%s has observedGeneration %d, want %d", typ, c.ObservedGeneration, generation)
	}
	return nil
}

// waitForCondition waits until a SourceEnvironment has a condition.
func (h *harness) waitForCondition(name, typ string, status metav1.ConditionStatus, reason string) *v1alpha1.SourceEnvironment {
	h.t.Helper()
	var se *v1alpha1.SourceEnvironment
	eventually(h.t, fmt.Sprintf("SourceEnvironment %s %s=%s", name, typ, status), func() error {
		var err error
		if se, err = h.sourceEnvironment(name); err != nil {
			return err
		}
		return hasCondition(se.Status.Conditions, se.Generation, typ, status, reason)
	})
	return se
}

// markAvailable plays the kubelet and the Deployment controller, which envtest does not
// run: it reports every pod of the Deployment ready.
func (h *harness) markAvailable(deployment string) {
	h.t.Helper()
	eventually(h.t, "mark Deployment "+deployment+" available", func() error {
		dep := &appsv1.Deployment{}
		if err := h.c.Get(h.ctx(), h.key(deployment), dep); err != nil {
			return err
		}
		n := replicasOf(dep)
		dep.Status.ObservedGeneration = dep.Generation
		dep.Status.Replicas, dep.Status.UpdatedReplicas, dep.Status.ReadyReplicas, dep.Status.AvailableReplicas = n, n, n, n
		return h.c.Status().Update(h.ctx(), dep)
	})
}

// waitForEvent waits for an Event about an object with the given type and reason and
// returns its note.
func (h *harness) waitForEvent(regarding, eventType, reason string) string {
	h.t.Helper()
	var note string
	eventually(h.t, fmt.Sprintf("%s Event %s about %s", eventType, reason, regarding), func() error {
		var list eventsv1.EventList
		if err := h.c.List(h.ctx(), &list, client.InNamespace(h.ns)); err != nil {
			return err
		}
		var seen []string
		for _, e := range list.Items {
			if e.Regarding.Name == regarding && e.Type == eventType && e.Reason == reason {
				note = e.Note
				return nil
			}
			seen = append(seen, e.Regarding.Name+"/"+e.Reason)
		}
		return fmt.Errorf("not among %v", seen)
	})
	return note
}

// stream reads a stream's configuration from NATS.
func (h *harness) stream(name string) (jetstream.StreamConfig, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := h.js.Stream(ctx, name)
	if err != nil {
		return jetstream.StreamConfig{}, err
	}
	return s.CachedInfo().Config, nil
}

// controlledBy checks that obj has a controller reference to owner.
func controlledBy(obj, owner client.Object) error {
	ref := metav1.GetControllerOf(obj)
	if ref == nil {
		return errors.New("no controller reference")
	}
	if ref.UID != owner.GetUID() || ref.Kind != "SourceEnvironment" || ref.Name != owner.GetName() {
		return fmt.Errorf("controller is %s %s (%s), want SourceEnvironment %s (%s)", ref.Kind, ref.Name, ref.UID, owner.GetName(), owner.GetUID())
	}
	return nil
}
