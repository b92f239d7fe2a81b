package controllers

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/api/v1alpha1"
	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
)

// waitForNATSURL waits until the ingress Deployment's pods are told to publish to url.
func (h *harness) waitForNATSURL(deployment, url string) {
	h.t.Helper()
	eventually(h.t, "ingress pods publishing to "+url, func() error {
		dep := &appsv1.Deployment{}
		if err := h.c.Get(h.ctx(), h.key(deployment), dep); err != nil {
			return err
		}
		if args := dep.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--nats-url="+url) {
			return fmt.Errorf("args %v", args)
		}
		return nil
	})
}

// TestNATSURLFromConfigMap follows a user who installs the operator, then creates,
// edits and deletes its ConfigMap: every change reaches the ingress pods and the
// operator's own connections without a restart.
func TestNATSURLFromConfigMap(t *testing.T) {
	const fallback = "nats://127.0.0.1:1" // nothing listens there
	h := start(t, Options{NATSURL: fallback, ConfigMap: types.NamespacedName{Name: "inlet-config"}})
	h.applySamples("stripe.yaml")
	name := ingressName("stripe-production")

	// No ConfigMap yet: the --nats-url default, unreachable here.
	h.waitForNATSURL(name, fallback)
	h.waitForCondition("stripe-production", v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonNATSUnavailable)

	// The user creates the ConfigMap with the real server.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "inlet-config"}, Data: map[string]string{ConfigMapNATSURL: h.url}}
	h.create(cm)
	h.waitForNATSURL(name, h.url)
	h.markAvailable(name)
	h.waitForCondition("stripe-production", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)

	// The user moves to another NATS: the pods are told, and the operator creates the
	// streams there.
	_, url2 := natstest.Start(t)
	cm.Data[ConfigMapNATSURL] = url2
	if err := h.c.Update(h.ctx(), cm); err != nil {
		t.Fatal(err)
	}
	h.waitForNATSURL(name, url2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc2, err := inletjs.Connect(ctx, url2)
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	eventually(t, "streams on the new server", func() error {
		for _, stream := range []string{v1alpha1.DefaultActionStream, v1alpha1.DefaultLogStream} {
			if _, err := nc2.JetStream().Stream(h.ctx(), stream); err != nil {
				return fmt.Errorf("stream %s: %w", stream, err)
			}
		}
		return nil
	})
	h.markAvailable(name)
	h.waitForCondition("stripe-production", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)

	// A SourceEnvironment that names its own server keeps it.
	h.updateSourceEnvironment("stripe-production", func(se *v1alpha1.SourceEnvironment) { se.Spec.Publish.NATSURL = h.url })
	h.waitForNATSURL(name, h.url)
	h.updateSourceEnvironment("stripe-production", func(se *v1alpha1.SourceEnvironment) { se.Spec.Publish.NATSURL = "" })
	h.waitForNATSURL(name, url2)

	// The ConfigMap is deleted: back to the default.
	if err := h.c.Delete(h.ctx(), cm); err != nil {
		t.Fatal(err)
	}
	h.waitForNATSURL(name, fallback)
}
