//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/controllers"
	"inlet.dev/inlet/ingress/config"
	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/provider"
	"inlet.dev/inlet/ingress/stats"
)

// operatorMadeKinds are the kinds of what the operator creates for a SourceEnvironment,
// and of what Kubernetes makes from it (ReplicaSets, pods, EndpointSlices).
var operatorMadeKinds = []schema.GroupVersionKind{
	{Group: "apps", Version: "v1", Kind: "Deployment"},
	{Group: "apps", Version: "v1", Kind: "ReplicaSet"},
	{Version: "v1", Kind: "Pod"},
	{Version: "v1", Kind: "Service"},
	{Group: "discovery.k8s.io", Version: "v1", Kind: "EndpointSlice"},
	{Version: "v1", Kind: "ServiceAccount"},
	{Version: "v1", Kind: "Secret"},
	{Version: "v1", Kind: "ConfigMap"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"},
	{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"},
}

// TestDeleteRemovesEverything runs last: it deletes the samples as a user would
// (`kubectl delete -f config/samples/`) and checks that everything the operator made
// for them goes: every object labelled app.kubernetes.io/managed-by=inlet or owned by
// one of the SourceEnvironments, with their pods, and their counters in NATS.
func TestDeleteRemovesEverything(t *testing.T) {
	dumpOnFailure(t)
	ctx := t.Context()
	kc := cl.Client()

	var ses v1alpha1.SourceEnvironmentList
	if err := kc.List(ctx, &ses, client.InNamespace(cl.Namespace)); err != nil {
		t.Fatal(err)
	}
	owners := map[types.UID]string{}
	for _, se := range ses.Items {
		owners[se.UID] = se.Name
	}
	for _, name := range sampleEnvironments {
		if !slices.ContainsFunc(ses.Items, func(se v1alpha1.SourceEnvironment) bool { return se.Name == name }) {
			t.Fatalf("SourceEnvironment %s of config/samples/ is not there to delete", name)
		}
	}

	// Before: what the operator made is there, so that its absence afterwards means
	// something.
	made := operatorMade(t, kc, owners)
	for _, se := range ses.Items {
		name := ingressObjectName(se.Name)
		want := []string{"Deployment/" + name, "Service/" + name, "ServiceAccount/" + name, "Role/" + name, "RoleBinding/" + name}
		dep := &appsv1.Deployment{}
		if err := kc.Get(ctx, types.NamespacedName{Namespace: cl.Namespace, Name: name}, dep); err == nil && wantedReplicas(dep) > 1 {
			want = append(want, "PodDisruptionBudget/"+name)
		}
		src := &v1alpha1.Source{}
		if err := kc.Get(ctx, types.NamespacedName{Namespace: cl.Namespace, Name: se.Spec.SourceRef.Name}, src); err != nil {
			t.Fatalf("Source of %s: %v", se.Name, err)
		}
		if provider.UsesEndpointToken(&src.Spec) {
			want = append(want, "Secret/"+config.EndpointTokenSecretName(se.Name))
		}
		for _, w := range want {
			if !slices.Contains(made, w) {
				t.Errorf("before deleting: the operator made no %s for SourceEnvironment %s", w, se.Name)
			}
		}
	}
	t.Logf("the operator made, before deleting: %s", strings.Join(made, ", "))

	// The SourceEnvironments whose ingress wrote counters to NATS.
	nats, err := inletjs.Connect(ctx, cl.NATSURL)
	if err != nil {
		t.Fatalf("connect to NATS at %s: %v", cl.NATSURL, err)
	}
	defer nats.Close()
	kv, err := nats.JetStream().KeyValue(ctx, stats.Bucket)
	if err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Fatalf("counters bucket %s: %v", stats.Bucket, err)
	}
	var counted []string
	for _, se := range ses.Items {
		if kv == nil {
			break // no bucket: nothing counted yet
		}
		r, err := stats.Sum(ctx, kv, se.Namespace, se.Name)
		if err != nil {
			t.Fatal(err)
		}
		if r.EventsReceived > 0 {
			counted = append(counted, se.Name)
		}
	}

	out, err := cl.Kubectl(ctx, "delete", "-f", filepath.Join(cl.Root, "config", "samples"), "--wait=false")
	if err != nil {
		t.Fatalf("kubectl delete -f config/samples/: %v", err)
	}
	t.Logf("$ kubectl delete -f config/samples/\n%s", out)

	took := waitUntil(t, deleteTimeout, "everything the operator made for the samples to go", func() (bool, string) {
		var left []string
		var list v1alpha1.SourceEnvironmentList
		if err := kc.List(ctx, &list, client.InNamespace(cl.Namespace)); err != nil {
			return false, err.Error()
		}
		for _, se := range list.Items {
			left = append(left, fmt.Sprintf("SourceEnvironment/%s (finalizers %v)", se.Name, se.Finalizers))
		}
		left = append(left, operatorMade(t, kc, owners)...)
		return len(left) == 0, strings.Join(left, ", ")
	})
	t.Logf("everything the operator made was gone %s after kubectl delete", took.Round(time.Second))

	for _, name := range counted {
		r, err := stats.Sum(ctx, kv, cl.Namespace, name)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Since.IsZero() || r.EventsReceived != 0 {
			t.Errorf("the counters of the deleted SourceEnvironment %s are still in NATS bucket %s: %d events", name, stats.Bucket, r.EventsReceived)
		}
	}
}

// operatorMade lists, as Kind/name, the objects in cl.Namespace labelled as managed by
// inlet or controlled by one of owners, or pods and ReplicaSets of an ingress.
func operatorMade(t *testing.T, kc client.Client, owners map[types.UID]string) []string {
	t.Helper()
	var out []string
	for _, gvk := range operatorMadeKinds {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := kc.List(t.Context(), list, client.InNamespace(cl.Namespace)); err != nil {
			t.Fatalf("list %ss: %v", gvk.Kind, err)
		}
		for _, o := range list.Items {
			owned := false
			for _, ref := range o.OwnerReferences {
				_, owned = owners[ref.UID]
				if owned {
					break
				}
			}
			if owned || o.Labels[controllers.LabelManagedBy] == controllers.ManagedBy || o.Labels[controllers.LabelName] == controllers.IngressAppName {
				out = append(out, gvk.Kind+"/"+o.Name)
			}
		}
	}
	return out
}
