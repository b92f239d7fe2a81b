package controllers

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/diff"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/stats"
)

// sample is what a sample SourceEnvironment references and what it counts.
type sample struct {
	secrets  []string
	token    bool
	mappings int32
}

// The samples' SourceEnvironments, their Secrets and their mapping counts.
var samples = map[string]sample{
	"clerk-production":   {secrets: []string{"clerk-webhook"}, mappings: 2},
	"github-development": {secrets: []string{"github-webhook"}, mappings: 1},
	"segment-production": {secrets: []string{"segment-production-endpoint-token", "segment-webhook"}, token: true, mappings: 2},
	"stripe-production":  {secrets: []string{"stripe-webhook"}, mappings: 3},
}

func TestSamplesComeUp(t *testing.T) {
	h := start(t, Options{EndpointBaseURL: "https://events.example.com/"})
	h.applySamples()

	for name, want := range samples {
		checkSampleIngress(t, h, name, want)
	}

	// The token Secret of the source that signs nothing.
	token := &corev1.Secret{}
	if err := h.c.Get(h.ctx(), h.key("segment-production-endpoint-token"), token); err != nil {
		t.Fatalf("endpoint token Secret: %v", err)
	}
	seg, _ := h.sourceEnvironment("segment-production")
	if err := controlledBy(token, seg); err != nil {
		t.Errorf("token Secret: %v", err)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(string(token.Data[config.EndpointTokenKey])); err != nil || len(raw) != 32 {
		t.Errorf("token is not 32 bytes of base64url: %d bytes, %v", len(raw), err)
	}
	for _, name := range []string{"stripe-production", "clerk-production", "github-development"} {
		if err := h.c.Get(h.ctx(), h.key(config.EndpointTokenSecretName(name)), &corev1.Secret{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s (signed source) has an endpoint token Secret: %v", name, err)
		}
	}

	// Every environment is Ready, and its status says where to send events.
	for name, want := range samples {
		checkSampleReady(t, h, name, want, token)
	}
	h.waitForEvent("segment-production", corev1.EventTypeNormal, v1alpha1.EventEndpointTokenCreated)

	// Streams: the duplicate window is the longest among the environments (github's is
	// 1h, the others 24h).
	actions, err := h.stream(v1alpha1.DefaultActionStream)
	if err != nil || actions.Duplicates != 24*time.Hour {
		t.Errorf("action stream: duplicates %v, %v; want 24h", actions.Duplicates, err)
	}
	logs, err := h.stream(v1alpha1.DefaultLogStream)
	if err != nil || logs.MaxAge != 168*time.Hour {
		t.Errorf("log stream: max age %v, %v; want 168h", logs.MaxAge, err)
	}

	// Mappings are compiled and Ready, Sources valid and counted.
	for _, name := range []string{"stripe-winback", "clerk-user-created", "github-issue-assigned", "segment-project-created"} {
		eventually(t, "EventMapping "+name+" Ready", func() error {
			m, err := h.eventMapping(name)
			if err != nil {
				return err
			}
			if m.Status.ActionCount != int32(len(m.Spec.Actions)) || m.Status.ObservedGeneration != m.Generation {
				return fmt.Errorf("actionCount %d, observedGeneration %d", m.Status.ActionCount, m.Status.ObservedGeneration)
			}
			return hasCondition(m.Status.Conditions, m.Generation, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
		})
	}
	for _, name := range []string{"stripe", "clerk", "github", "segment"} {
		eventually(t, "Source "+name+" Ready", func() error {
			src := &v1alpha1.Source{}
			if err := h.c.Get(h.ctx(), h.key(name), src); err != nil {
				return err
			}
			if src.Status.Environments != 1 {
				return fmt.Errorf("environments = %d, want 1", src.Status.Environments)
			}
			return hasCondition(src.Status.Conditions, src.Generation, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
		})
	}
}

// checkSampleIngress waits for the streams of sample SourceEnvironment name, checks
// the objects of its ingress and marks its Deployment available.
func checkSampleIngress(t *testing.T, h *harness, name string, want sample) {
	se := h.waitForCondition(name, v1alpha1.ConditionStreamsReady, metav1.ConditionTrue, v1alpha1.ReasonStreamsReady)
	ingress := ingressName(name)

	// Everything the ingress needs exists and is owned by its SourceEnvironment.
	for _, obj := range []client.Object{&corev1.ServiceAccount{}, &rbacv1.Role{}, &rbacv1.RoleBinding{}, &appsv1.Deployment{}, &corev1.Service{}} {
		eventually(t, fmt.Sprintf("%T %s", obj, ingress), func() error {
			if err := h.c.Get(h.ctx(), h.key(ingress), obj); err != nil {
				return err
			}
			return controlledBy(obj, se)
		})
	}

	// The Role reads exactly the Secrets the environment references.
	role := &rbacv1.Role{}
	if err := h.c.Get(h.ctx(), h.key(ingress), role); err != nil {
		t.Fatal(err)
	}
	var secretNames []string
	for _, rule := range role.Rules {
		if slices.Contains(rule.Resources, "secrets") {
			secretNames = append(secretNames, rule.ResourceNames...)
			if !slices.Equal(rule.Verbs, []string{"get", "list", "watch"}) {
				t.Errorf("%s: secret verbs %v", name, rule.Verbs)
			}
		}
	}
	if !slices.Equal(secretNames, want.secrets) {
		t.Errorf("%s: Role reads Secrets %v, want exactly %v", name, secretNames, want.secrets)
	}

	// The pod runs the ingress for this environment, locked down.
	dep := &appsv1.Deployment{}
	if err := h.c.Get(h.ctx(), h.key(ingress), dep); err != nil {
		t.Fatal(err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	wantArgs := []string{"--namespace=$(POD_NAMESPACE)", "--source-environment=" + name, "--listen=:8080",
		"--metrics-listen=:9090", "--nats-url=" + h.url, "--shutdown-delay=5s", "--drain=10s", "--peers-service=" + ingressName(name)}
	if c.Name != "ingress" || c.Image != "inlet:test" || !slices.Equal(c.Command, []string{"/inlet-ingress"}) ||
		!slices.Equal(c.Args, wantArgs) || *dep.Spec.Replicas != 2 {
		t.Errorf("%s: container %s image %s command %v args %v replicas %d", name, c.Name, c.Image, c.Command, c.Args, *dep.Spec.Replicas)
	}
	if sc := c.SecurityContext; sc == nil || !*sc.ReadOnlyRootFilesystem || !*sc.RunAsNonRoot || *sc.RunAsUser != 65532 {
		t.Errorf("%s: container security context %+v", name, sc)
	}

	h.markAvailable(ingress)
}

// checkSampleReady waits for sample SourceEnvironment name to be Ready and checks its
// status, which must not show the endpoint token.
func checkSampleReady(t *testing.T, h *harness, name string, want sample, token *corev1.Secret) {
	se := h.waitForCondition(name, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
	if err := hasCondition(se.Status.Conditions, se.Generation, v1alpha1.ConditionIngressAvailable, metav1.ConditionTrue, v1alpha1.ReasonDeploymentAvailable); err != nil {
		t.Error(err)
	}
	wantEndpoint := "https://events.example.com/e/" + h.ns + "/" + name
	if want.token {
		wantEndpoint += "/{token}"
	}
	eventually(t, name+" status", func() error {
		se, err := h.sourceEnvironment(name)
		if err != nil {
			return err
		}
		st := se.Status
		if st.Endpoint != wantEndpoint || st.ReadyReplicas != 2 || st.Mappings != want.mappings || st.ObservedGeneration != se.Generation {
			return fmt.Errorf("endpoint %q, readyReplicas %d, mappings %d, observedGeneration %d; want %q, 2, %d, %d",
				st.Endpoint, st.ReadyReplicas, st.Mappings, st.ObservedGeneration, wantEndpoint, want.mappings, se.Generation)
		}
		if want.token != (st.EndpointTokenSecretRef != nil) {
			return fmt.Errorf("endpointTokenSecretRef %v", st.EndpointTokenSecretRef)
		}
		return nil
	})
	if strings.Contains(fmt.Sprint(se.Status), string(token.Data[config.EndpointTokenKey])) {
		t.Errorf("%s: the endpoint token appears in status", name)
	}
	if !slices.Contains(se.Finalizers, SourceEnvironmentFinalizer) {
		t.Errorf("%s has no finalizer", name)
	}
}

func TestDeletingASourceEnvironment(t *testing.T) {
	h := start(t, Options{})
	h.applySamples("segment.yaml")
	se := h.waitForCondition("segment-production", v1alpha1.ConditionStreamsReady, metav1.ConditionTrue, v1alpha1.ReasonStreamsReady)

	// An ingress instance has reported counters.
	kv, err := stats.EnsureBucket(h.ctx(), h.js)
	if err != nil {
		t.Fatal(err)
	}
	if err := stats.Put(h.ctx(), kv, h.ns, "segment-production", "pod-1", stats.Report{EventsReceived: 1}); err != nil {
		t.Fatal(err)
	}

	// Everything the operator created is owned by the SourceEnvironment, so that the
	// garbage collector (which envtest does not run) removes it.
	name := ingressName("segment-production")
	owned := []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: config.EndpointTokenSecretName("segment-production")}},
	}
	for _, obj := range owned {
		eventually(t, fmt.Sprintf("%T %s owned", obj, obj.GetName()), func() error {
			if err := h.c.Get(h.ctx(), h.key(obj.GetName()), obj); err != nil {
				return err
			}
			return controlledBy(obj, se)
		})
	}

	if err := h.c.Delete(h.ctx(), se); err != nil {
		t.Fatal(err)
	}
	eventually(t, "SourceEnvironment gone (finalizer removed)", func() error {
		_, err := h.sourceEnvironment("segment-production")
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there: %v", err)
	})
	// Its counters are gone from NATS; the streams stay, for other environments and
	// unconsumed actions.
	if r, err := stats.Sum(h.ctx(), kv, h.ns, "segment-production"); err != nil || r.EventsReceived != 0 {
		t.Errorf("counters after deletion: %+v, %v", r, err)
	}
	lister, err := kv.ListKeysFiltered(h.ctx(), h.ns+".>")
	if err != nil {
		t.Fatal(err)
	}
	for k := range lister.Keys() {
		t.Errorf("counter %s is still in the stats bucket", k)
	}
	if _, err := h.stream(v1alpha1.DefaultActionStream); err != nil {
		t.Errorf("action stream: %v", err)
	}
}

func TestMissingSecretIsReportedAndRecovers(t *testing.T) {
	h := start(t, Options{})
	h.create(
		&v1alpha1.Source{ObjectMeta: metav1.ObjectMeta{Name: "stripe"}, Spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}},
		&v1alpha1.SourceEnvironment{
			ObjectMeta: metav1.ObjectMeta{Name: "stripe-production"},
			Spec: v1alpha1.SourceEnvironmentSpec{
				SourceRef:         v1alpha1.LocalObjectReference{Name: "stripe"},
				Environment:       "production",
				SigningSecretRefs: []v1alpha1.SecretKeyReference{{Name: "stripe-webhook", Key: "secret"}},
			},
		},
	)
	se := h.waitForCondition("stripe-production", v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSecretNotFound)
	if msg := condition(se, v1alpha1.ConditionReady).Message; !strings.Contains(msg, `"stripe-webhook"`) {
		t.Errorf("message %q does not name the Secret", msg)
	}
	h.waitForEvent("stripe-production", corev1.EventTypeWarning, v1alpha1.EventSecretMissing)

	// The ingress is deployed all the same: it picks the Secret up live.
	h.markAvailable(ingressName("stripe-production"))
	h.create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "stripe-webhook"},
		StringData: map[string]string{"secret": "whsec_test"},
	})
	h.waitForCondition("stripe-production", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
}

func TestInvalidSpecAndMissingSource(t *testing.T) {
	h := start(t, Options{})
	h.create(&v1alpha1.SourceEnvironment{
		ObjectMeta: metav1.ObjectMeta{Name: "stripe-production"},
		Spec: v1alpha1.SourceEnvironmentSpec{
			SourceRef:   v1alpha1.LocalObjectReference{Name: "stripe"},
			Environment: "production",
		},
	})
	h.waitForCondition("stripe-production", v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSourceNotFound)

	// The Source appears: a stripe source without a signing secret is invalid.
	h.create(&v1alpha1.Source{ObjectMeta: metav1.ObjectMeta{Name: "stripe"}, Spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}})
	se := h.waitForCondition("stripe-production", v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonInvalidSpec)
	if msg := condition(se, v1alpha1.ConditionReady).Message; !strings.Contains(msg, "signingSecretRefs") {
		t.Errorf("message %q does not name signingSecretRefs", msg)
	}
}

func TestStreamDeletedBehindTheOperatorsBackComesBack(t *testing.T) {
	h := start(t, Options{ResyncInterval: 300 * time.Millisecond})
	h.applySamples("stripe.yaml")
	h.waitForCondition("stripe-production", v1alpha1.ConditionStreamsReady, metav1.ConditionTrue, v1alpha1.ReasonStreamsReady)
	h.waitForEvent("stripe-production", corev1.EventTypeNormal, v1alpha1.EventStreamCreated)

	if err := h.js.DeleteStream(h.ctx(), v1alpha1.DefaultActionStream); err != nil {
		t.Fatal(err)
	}
	eventually(t, "action stream re-created", func() error {
		_, err := h.stream(v1alpha1.DefaultActionStream)
		return err
	})
	note := h.waitForEvent("stripe-production", corev1.EventTypeNormal, v1alpha1.EventStreamRecreated)
	if !strings.Contains(note, v1alpha1.DefaultActionStream) {
		t.Errorf("event note %q does not name the stream", note)
	}

	// A longer window on another environment of the same stream widens it.
	se, _ := h.sourceEnvironment("stripe-production")
	se.Spec.Idempotency.Window = &v1alpha1.Duration{Duration: 48 * time.Hour}
	if err := h.c.Update(h.ctx(), se); err != nil {
		t.Fatal(err)
	}
	eventually(t, "duplicate window widened", func() error {
		cfg, err := h.stream(v1alpha1.DefaultActionStream)
		if err != nil {
			return err
		}
		if cfg.Duplicates != 48*time.Hour {
			return fmt.Errorf("duplicates %v", cfg.Duplicates)
		}
		return nil
	})
}

// TestNATSUnavailable: with NATS unreachable, the ingress pods never become ready (they
// need NATS), and Ready names NATS as the cause, not the Deployment, with the server
// (its password hidden) and the error.
func TestNATSUnavailable(t *testing.T) {
	h := start(t, Options{NATSURL: "nats://inlet:s3cret@127.0.0.1:1"})
	h.applySamples("stripe.yaml")
	h.waitForCondition("stripe-production", v1alpha1.ConditionStreamsReady, metav1.ConditionFalse, v1alpha1.ReasonNATSUnavailable)
	se := h.waitForCondition("stripe-production", v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonNATSUnavailable)
	if err := hasCondition(se.Status.Conditions, se.Generation, v1alpha1.ConditionIngressAvailable, metav1.ConditionFalse, v1alpha1.ReasonDeploymentUnavailable); err != nil {
		t.Error(err)
	}
	msg := condition(se, v1alpha1.ConditionReady).Message
	t.Logf("Ready: %s", msg)
	if !strings.Contains(msg, "127.0.0.1:1") || strings.Contains(msg, "s3cret") || !strings.Contains(msg, "unavailable") {
		t.Errorf("Ready message %q: want the server without its password, and the error", msg)
	}
	h.waitForEvent("stripe-production", corev1.EventTypeWarning, v1alpha1.ReasonNATSUnavailable)

	// Once the ingress is up anyway, NATS is still the reason.
	h.markAvailable(ingressName("stripe-production"))
	h.waitForCondition("stripe-production", v1alpha1.ConditionIngressAvailable, metav1.ConditionTrue, v1alpha1.ReasonDeploymentAvailable)
	h.waitForCondition("stripe-production", v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonNATSUnavailable)
}

func TestReplicasAreLeftToWhoeverScales(t *testing.T) {
	h := start(t, Options{})
	h.applySamples("stripe.yaml")
	name := ingressName("stripe-production")
	dep := &appsv1.Deployment{}
	eventually(t, "Deployment", func() error { return h.c.Get(h.ctx(), h.key(name), dep) })
	if *dep.Spec.Replicas != DefaultIngressReplicas {
		t.Fatalf("replicas = %d, want %d", *dep.Spec.Replicas, DefaultIngressReplicas)
	}
	// With two pods, one at a time may be evicted.
	pdbAllowsOne := func() error {
		pdb := &policyv1.PodDisruptionBudget{}
		if err := h.c.Get(h.ctx(), h.key(name), pdb); err != nil {
			return err
		}
		if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
			return fmt.Errorf("maxUnavailable %v, minAvailable %v", pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable)
		}
		if !equality.Semantic.DeepEqual(pdb.Spec.Selector.MatchLabels, dep.Spec.Selector.MatchLabels) {
			return fmt.Errorf("PDB selects %v, the Deployment %v", pdb.Spec.Selector.MatchLabels, dep.Spec.Selector.MatchLabels)
		}
		return nil
	}
	eventually(t, "PodDisruptionBudget for the default replicas", pdbAllowsOne)
	h.markAvailable(name)
	h.waitForCondition("stripe-production", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)

	// An autoscaler scales it through the scale subresource.
	scale := &autoscale{name: name}
	scale.set(t, h, 3)
	eventually(t, "PodDisruptionBudget for 3 replicas", pdbAllowsOne)
	// Several resyncs later, the count is still the autoscaler's.
	time.Sleep(3 * time.Second)
	if err := h.c.Get(h.ctx(), h.key(name), dep); err != nil {
		t.Fatal(err)
	}
	if *dep.Spec.Replicas != 3 {
		t.Fatalf("replicas = %d after resyncs, want the autoscaler's 3", *dep.Spec.Replicas)
	}

	// spec.ingress.replicas, once set, wins; with one replica the PDB goes.
	se, _ := h.sourceEnvironment("stripe-production")
	se.Spec.Ingress.Replicas = new(int32(1))
	if err := h.c.Update(h.ctx(), se); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replicas from spec and PDB removed", func() error {
		if err := h.c.Get(h.ctx(), h.key(name), dep); err != nil {
			return err
		}
		if *dep.Spec.Replicas != 1 {
			return fmt.Errorf("replicas = %d", *dep.Spec.Replicas)
		}
		err := h.c.Get(h.ctx(), h.key(name), &policyv1.PodDisruptionBudget{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("PDB still there: %v", err)
		}
		return nil
	})
}

// autoscale scales a Deployment as kubectl scale or an autoscaler does.
type autoscale struct{ name string }

func (a *autoscale) set(t *testing.T, h *harness, replicas int32) {
	t.Helper()
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: a.name, Namespace: h.ns}}
	patch := client.RawPatch("application/merge-patch+json", fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas))
	if err := h.c.SubResource("scale").Patch(h.ctx(), dep, patch, client.FieldOwner("autoscaler")); err != nil {
		t.Fatalf("scale: %v", err)
	}
}

func TestMappingAndSecretChangesDoNotRollTheIngress(t *testing.T) {
	h := start(t, Options{})
	h.applySamples("stripe.yaml")
	name := ingressName("stripe-production")
	h.markAvailable(name)
	h.waitForCondition("stripe-production", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
	dep := &appsv1.Deployment{}
	if err := h.c.Get(h.ctx(), h.key(name), dep); err != nil {
		t.Fatal(err)
	}
	generation := dep.Generation

	// A new mapping and a rotated secret are picked up live by the ingress.
	h.create(&v1alpha1.EventMapping{
		ObjectMeta: metav1.ObjectMeta{Name: "stripe-invoice-paid"},
		Spec: v1alpha1.EventMappingSpec{
			SourceEnvironmentRef: v1alpha1.LocalObjectReference{Name: "stripe-production"},
			EventType:            "invoice.paid",
			Actions: []v1alpha1.Action{{TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{
				Workflow: "invoice-paid", Recipients: "[body.data.object.customer]",
			}}},
		},
	})
	secret := &corev1.Secret{}
	if err := h.c.Get(h.ctx(), h.key("stripe-webhook"), secret); err != nil {
		t.Fatal(err)
	}
	secret.Data["secret"] = []byte("whsec_rotated")
	if err := h.c.Update(h.ctx(), secret); err != nil {
		t.Fatal(err)
	}
	eventually(t, "mapping counted", func() error {
		se, err := h.sourceEnvironment("stripe-production")
		if err != nil {
			return err
		}
		if se.Status.Mappings != 4 {
			return fmt.Errorf("mappings = %d, want 4", se.Status.Mappings)
		}
		return nil
	})
	time.Sleep(2 * time.Second) // a few resyncs
	if err := h.c.Get(h.ctx(), h.key(name), dep); err != nil {
		t.Fatal(err)
	}
	if dep.Generation != generation {
		t.Errorf("Deployment generation %d → %d: the pod template changed", generation, dep.Generation)
	}

	// What the operator sets, read back with the API server's defaults, needs no update:
	// a resync sends no write.
	se, _ := h.sourceEnvironment("stripe-production")
	pod := ingressPod{SourceEnvironment: se.Name, Image: "inlet:test", NATSURL: h.url}
	stable := func(obj client.Object, mutate func()) {
		t.Helper()
		if err := h.c.Get(h.ctx(), h.key(name), obj); err != nil {
			t.Fatal(err)
		}
		before := obj.DeepCopyObject()
		mutate()
		if !equality.Semantic.DeepEqual(before, obj) {
			t.Errorf("%T changes when applied again:\n%s", obj, diff.Diff(before, obj))
		}
	}
	stable(dep, func() { pod.mutateDeployment(dep, se.Spec.Ingress.Replicas) })
	svc := &corev1.Service{}
	stable(svc, func() { mutateService(svc, se.Name) })
	role := &rbacv1.Role{}
	stable(role, func() { mutateRole(role, se.Name, []string{"stripe-webhook"}) })
	rb := &rbacv1.RoleBinding{}
	stable(rb, func() { mutateRoleBinding(rb, se.Name) })
	sa := &corev1.ServiceAccount{}
	stable(sa, func() { mutateServiceAccount(sa, se.Name) })

	// A change of the pod's own inputs does roll it.
	se, _ = h.sourceEnvironment("stripe-production")
	se.Spec.Publish.NATSURL = "nats://nats.example:4222"
	if err := h.c.Update(h.ctx(), se); err != nil {
		t.Fatal(err)
	}
	eventually(t, "pod template updated", func() error {
		if err := h.c.Get(h.ctx(), h.key(name), dep); err != nil {
			return err
		}
		if !slices.Contains(dep.Spec.Template.Spec.Containers[0].Args, "--nats-url=nats://nats.example:4222") {
			return fmt.Errorf("args %v", dep.Spec.Template.Spec.Containers[0].Args)
		}
		return nil
	})
}

func TestInProcessIngress(t *testing.T) {
	h := start(t, Options{InProcessIngress: true})
	h.applySamples("stripe.yaml", "segment.yaml")
	se := h.waitForCondition("stripe-production", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
	if err := hasCondition(se.Status.Conditions, se.Generation, v1alpha1.ConditionIngressAvailable, metav1.ConditionTrue, v1alpha1.ReasonInProcess); err != nil {
		t.Error(err)
	}
	if se.Status.Endpoint != DefaultInProcessEndpoint+"/e/"+h.ns+"/stripe-production" {
		t.Errorf("endpoint %q", se.Status.Endpoint)
	}
	// The token is generated all the same: the in-process ingress needs it too.
	h.waitForCondition("segment-production", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
	if err := h.c.Get(h.ctx(), h.key("segment-production-endpoint-token"), &corev1.Secret{}); err != nil {
		t.Errorf("endpoint token Secret: %v", err)
	}
	for _, list := range []client.ObjectList{&appsv1.DeploymentList{}, &corev1.ServiceList{}, &rbacv1.RoleList{}} {
		if err := h.c.List(h.ctx(), list, client.InNamespace(h.ns)); err != nil {
			t.Fatal(err)
		}
		if n := len(mustItems(t, list)); n != 0 {
			t.Errorf("%T holds %d objects in in-process mode", list, n)
		}
	}
}

func mustItems(t *testing.T, list client.ObjectList) []client.Object {
	t.Helper()
	var out []client.Object
	switch l := list.(type) {
	case *appsv1.DeploymentList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *corev1.ServiceList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *rbacv1.RoleList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	default:
		t.Fatalf("unexpected list %T", list)
	}
	return out
}

func TestStatusCountersFollowStats(t *testing.T) {
	h := start(t, Options{ResyncInterval: 300 * time.Millisecond})
	h.applySamples("stripe.yaml")
	h.waitForCondition("stripe-production", v1alpha1.ConditionStreamsReady, metav1.ConditionTrue, v1alpha1.ReasonStreamsReady)

	kv, err := stats.EnsureBucket(h.ctx(), h.js)
	if err != nil {
		t.Fatal(err)
	}
	last := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	put := func(instance string, r stats.Report) {
		t.Helper()
		if err := stats.Put(h.ctx(), kv, h.ns, "stripe-production", instance, r); err != nil {
			t.Fatal(err)
		}
	}
	put("pod-1", stats.Report{EventsReceived: 5, ActionsPublished: 7, LastEventTime: last.Add(-time.Minute), Matched: map[string]int64{"stripe-winback": 2}})
	put("pod-2", stats.Report{EventsReceived: 3, ActionsPublished: 4, LastEventTime: last, Matched: map[string]int64{"stripe-winback": 1, "stripe-payment-failed": 2}})
	// Another environment's counters do not count.
	if err := stats.Put(h.ctx(), kv, h.ns, "stripe-staging", "pod-1", stats.Report{EventsReceived: 100}); err != nil {
		t.Fatal(err)
	}

	eventually(t, "SourceEnvironment counters", func() error {
		se, err := h.sourceEnvironment("stripe-production")
		if err != nil {
			return err
		}
		st := se.Status
		if st.EventsReceived != 8 || st.ActionsPublished != 11 || st.LastEventTime == nil || !st.LastEventTime.Time.Equal(last) {
			return fmt.Errorf("events %d, actions %d, last %v; want 8, 11, %v", st.EventsReceived, st.ActionsPublished, st.LastEventTime, last)
		}
		return nil
	})
	for name, want := range map[string]int64{"stripe-winback": 3, "stripe-payment-failed": 2, "stripe-subscription-created": 0} {
		eventually(t, name+" eventsMatched", func() error {
			m, err := h.eventMapping(name)
			if err != nil {
				return err
			}
			if m.Status.EventsMatched != want {
				return fmt.Errorf("eventsMatched %d, want %d", m.Status.EventsMatched, want)
			}
			if (want > 0) != (m.Status.LastMatchTime != nil) {
				return fmt.Errorf("lastMatchTime %v", m.Status.LastMatchTime)
			}
			return nil
		})
	}
}

func TestNATSCredentialsSecret(t *testing.T) {
	h := start(t, Options{})
	h.applySamples("stripe.yaml")
	se, _ := h.sourceEnvironment("stripe-production")
	se.Spec.Publish.CredentialsSecretRef = &v1alpha1.SecretKeyReference{Name: "nats-creds", Key: "user.creds"}
	if err := h.c.Update(h.ctx(), se); err != nil {
		t.Fatal(err)
	}
	h.waitForCondition("stripe-production", v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSecretNotFound)

	name := ingressName("stripe-production")
	eventually(t, "credentials mounted and the Role allows them", func() error {
		dep := &appsv1.Deployment{}
		if err := h.c.Get(h.ctx(), h.key(name), dep); err != nil {
			return err
		}
		c := dep.Spec.Template.Spec.Containers[0]
		if !slices.Contains(c.Args, "--nats-creds="+NATSCredentialsPath) || len(c.VolumeMounts) != 1 || !c.VolumeMounts[0].ReadOnly {
			return fmt.Errorf("args %v, mounts %v", c.Args, c.VolumeMounts)
		}
		v := dep.Spec.Template.Spec.Volumes
		if len(v) != 1 || v[0].Secret == nil || v[0].Secret.SecretName != "nats-creds" || v[0].Secret.Items[0].Key != "user.creds" {
			return fmt.Errorf("volumes %+v", v)
		}
		role := &rbacv1.Role{}
		if err := h.c.Get(h.ctx(), h.key(name), role); err != nil {
			return err
		}
		if got := role.Rules[len(role.Rules)-1].ResourceNames; !slices.Equal(got, []string{"nats-creds", "stripe-webhook"}) {
			return fmt.Errorf("Role reads Secrets %v", got)
		}
		return nil
	})
}

// condition returns a condition of a SourceEnvironment, or an empty one.
func condition(se *v1alpha1.SourceEnvironment, typ string) metav1.Condition {
	for _, c := range se.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return metav1.Condition{}
}

func TestDeletingTheTokenSecretRotatesTheToken(t *testing.T) {
	h := start(t, Options{})
	h.applySamples("segment.yaml")
	name := config.EndpointTokenSecretName("segment-production")
	old := &corev1.Secret{}
	eventually(t, "token Secret", func() error { return h.c.Get(h.ctx(), h.key(name), old) })

	// A resync never overwrites it.
	time.Sleep(2 * time.Second)
	same := &corev1.Secret{}
	if err := h.c.Get(h.ctx(), h.key(name), same); err != nil {
		t.Fatal(err)
	}
	if same.ResourceVersion != old.ResourceVersion {
		t.Errorf("the token Secret was written again")
	}

	if err := h.c.Delete(h.ctx(), old); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a new token", func() error {
		cur := &corev1.Secret{}
		if err := h.c.Get(h.ctx(), h.key(name), cur); err != nil {
			return err
		}
		if cur.UID == old.UID || string(cur.Data[config.EndpointTokenKey]) == string(old.Data[config.EndpointTokenKey]) {
			return fmt.Errorf("still the old token")
		}
		return nil
	})
}
