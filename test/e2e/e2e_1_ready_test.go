//go:build e2e

package e2e

// The tests run in the order a user meets inlet, one file each, named so that Go runs
// them in that order: ready, samples, status and live changes, no loss under
// disruption, and deleting everything last.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/controllers"
)

// TestOperatorAndIngressReady checks what `kubectl get pods -A` and the logs tell a user
// right after deploying: the operator and every ingress pod Ready and never restarted,
// no RBAC "forbidden" error in any of their logs, and the operator holding its leader
// election Lease and renewing it.
func TestOperatorAndIngressReady(t *testing.T) {
	dumpOnFailure(t)
	ctx := t.Context()
	kc := cl.Client()

	_, operatorPods := waitRolledOut(t, kc, types.NamespacedName{Namespace: operatorNamespace, Name: operatorDeployment})
	t.Logf("operator: %s", describePods(operatorPods))

	// The operator makes an ingress Deployment per SourceEnvironment; every pod of each
	// is Ready. A SourceEnvironment that sets no replicas gets the operator's default.
	var ses v1alpha1.SourceEnvironmentList
	if err := kc.List(ctx, &ses, client.InNamespace(cl.Namespace)); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(ses.Items))
	for _, se := range ses.Items {
		names = append(names, se.Name)
	}
	for _, want := range sampleEnvironments {
		if !slices.Contains(names, want) {
			t.Fatalf("SourceEnvironment %s of config/samples/ is not in namespace %s (there: %v)", want, cl.Namespace, names)
		}
	}
	var ingressPods []corev1.Pod
	for _, se := range ses.Items {
		dep, pods := waitIngressReady(t, kc, se.Name)
		if se.Spec.Ingress.Replicas == nil && wantedReplicas(dep) != controllers.DefaultIngressReplicas {
			t.Errorf("SourceEnvironment %s sets no replicas, and its ingress Deployment has %d, not the default %d",
				se.Name, wantedReplicas(dep), controllers.DefaultIngressReplicas)
		}
		t.Logf("%s: %s", dep.Name, describePods(pods))
		ingressPods = append(ingressPods, pods...)
	}

	// No pod restarted: a crash loop can look Ready between two crashes.
	for _, p := range append(slices.Clone(operatorPods), ingressPods...) {
		for _, s := range p.Status.ContainerStatuses {
			if s.RestartCount == 0 {
				continue
			}
			last := ""
			if term := s.LastTerminationState.Terminated; term != nil {
				last = fmt.Sprintf(" (last exit: %s, code %d, %s)", term.Reason, term.ExitCode, strings.TrimSpace(term.Message))
			}
			t.Errorf("pod %s/%s container %s restarted %d times%s", p.Namespace, p.Name, s.Name, s.RestartCount, last)
		}
	}

	// RBAC: a missing permission shows in the logs as "... is forbidden: User ... cannot
	// list resource ...".
	cs := clientset(t)
	forbidden := regexp.MustCompile(`(?i)forbidden`)
	for _, p := range append(slices.Clone(operatorPods), ingressPods...) {
		for _, c := range p.Spec.Containers {
			logs, err := cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: c.Name}).DoRaw(ctx)
			if err != nil {
				t.Errorf("logs of %s/%s: %v", p.Namespace, p.Name, err)
				continue
			}
			var lines []string
			for line := range strings.Lines(string(logs)) {
				if forbidden.MatchString(line) {
					lines = append(lines, strings.TrimSpace(line))
				}
			}
			if len(lines) > 0 {
				t.Errorf("pod %s/%s logged %d RBAC errors, such as:\n%s", p.Namespace, p.Name, len(lines), strings.Join(lines[:min(len(lines), 5)], "\n"))
			}
		}
	}

	// Leader election: the Lease names a running operator pod (controller-runtime's
	// identity is "<hostname>_<uuid>", and a pod's hostname is its name), and it is renewed.
	lease := &coordinationv1.Lease{}
	leaseKey := types.NamespacedName{Namespace: operatorNamespace, Name: operatorLease}
	var firstRenew time.Time
	waitUntil(t, readyTimeout, "the operator to hold Lease "+leaseKey.String(), func() (bool, string) {
		if err := kc.Get(ctx, leaseKey, lease); err != nil {
			return false, err.Error()
		}
		if lease.Spec.HolderIdentity == nil || lease.Spec.RenewTime == nil {
			return false, "no holder"
		}
		holder, _, _ := strings.Cut(*lease.Spec.HolderIdentity, "_")
		firstRenew = lease.Spec.RenewTime.Time
		return slices.ContainsFunc(operatorPods, func(p corev1.Pod) bool { return p.Name == holder }),
			fmt.Sprintf("held by %q, not by an operator pod (%s)", *lease.Spec.HolderIdentity, describePods(operatorPods))
	})
	waitUntil(t, time.Minute, "the operator to renew Lease "+leaseKey.String(), func() (bool, string) {
		if err := kc.Get(ctx, leaseKey, lease); err != nil {
			return false, err.Error()
		}
		return lease.Spec.RenewTime != nil && lease.Spec.RenewTime.After(firstRenew), fmt.Sprintf("last renewed at %v", firstRenew)
	})
	t.Logf("leader: %s, renewed at %v", *lease.Spec.HolderIdentity, lease.Spec.RenewTime.Time)
}
