package controllers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"inlet.dev/inlet/api/v1alpha1"
)

func TestInvalidExpressionIsReportedWithItsPosition(t *testing.T) {
	h := start(t, Options{})
	h.applySamples("stripe.yaml")
	h.markAvailable(ingressName("stripe-production"))
	h.create(&v1alpha1.EventMapping{
		ObjectMeta: metav1.ObjectMeta{Name: "broken"},
		Spec: v1alpha1.EventMappingSpec{
			SourceEnvironmentRef: v1alpha1.LocalObjectReference{Name: "stripe-production"},
			EventType:            "invoice.paid",
			Actions: []v1alpha1.Action{{TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{
				Workflow: "invoice-paid", Recipients: "[body.data.object.customer",
			}}},
		},
	})
	var msg string
	eventually(t, "broken mapping reported", func() error {
		m, err := h.eventMapping("broken")
		if err != nil {
			return err
		}
		if err := hasCondition(m.Status.Conditions, m.Generation, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonInvalidExpression); err != nil {
			return err
		}
		msg = m.Status.Conditions[0].Message
		if m.Status.ActionCount != 1 {
			return fmt.Errorf("actionCount %d", m.Status.ActionCount)
		}
		return nil
	})
	for _, want := range []string{"spec.actions[0].triggerWorkflow.recipients", "line 1, column"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not contain %q", msg, want)
		}
	}
	note := h.waitForEvent("broken", corev1.EventTypeWarning, v1alpha1.ReasonInvalidExpression)
	if !strings.Contains(note, "spec.actions[0].triggerWorkflow.recipients") {
		t.Errorf("event note %q does not name the field", note)
	}

	// The other mappings of the environment are unaffected, and the broken one is not
	// counted as live.
	eventually(t, "environment counts the live mappings", func() error {
		se, err := h.sourceEnvironment("stripe-production")
		if err != nil {
			return err
		}
		if se.Status.Mappings != 3 {
			return fmt.Errorf("mappings = %d, want 3", se.Status.Mappings)
		}
		return nil
	})

	// Fixed, it becomes Ready and live.
	m, _ := h.eventMapping("broken")
	m.Spec.Actions[0].TriggerWorkflow.Recipients = "[body.data.object.customer]"
	if err := h.c.Update(h.ctx(), m); err != nil {
		t.Fatal(err)
	}
	eventually(t, "fixed mapping Ready", func() error {
		m, err := h.eventMapping("broken")
		if err != nil {
			return err
		}
		return hasCondition(m.Status.Conditions, m.Generation, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
	})
	h.waitForEvent("broken", corev1.EventTypeNormal, v1alpha1.ReasonReady)
}

func TestMappingWaitsForItsSourceEnvironment(t *testing.T) {
	h := start(t, Options{})
	h.create(&v1alpha1.EventMapping{
		ObjectMeta: metav1.ObjectMeta{Name: "early"},
		Spec: v1alpha1.EventMappingSpec{
			SourceEnvironmentRef: v1alpha1.LocalObjectReference{Name: "stripe-production"},
			EventType:            "invoice.paid",
			Actions:              []v1alpha1.Action{{IdentifyUser: &v1alpha1.IdentifyUserAction{ID: "body.data.object.customer"}}},
		},
	})
	eventually(t, "SourceEnvironmentNotFound", func() error {
		m, err := h.eventMapping("early")
		if err != nil {
			return err
		}
		return hasCondition(m.Status.Conditions, m.Generation, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSourceEnvironmentNotFound)
	})
	h.applySamples("stripe.yaml")
	h.markAvailable(ingressName("stripe-production"))
	eventually(t, "Ready once the SourceEnvironment exists", func() error {
		m, err := h.eventMapping("early")
		if err != nil {
			return err
		}
		return hasCondition(m.Status.Conditions, m.Generation, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
	})
}

// TestMappingFollowsItsSourceEnvironment breaks and repairs a SourceEnvironment: its
// mappings are Ready only while it is, and follow each change at once, not at the next
// resync (an hour away here).
func TestMappingFollowsItsSourceEnvironment(t *testing.T) {
	h := start(t, Options{InProcessIngress: true, ResyncInterval: time.Hour})
	h.applySamples("stripe.yaml")
	mappingReady := func(what string, status metav1.ConditionStatus, reason, inMessage string) {
		t.Helper()
		eventually(t, what, func() error {
			m, err := h.eventMapping("stripe-winback")
			if err != nil {
				return err
			}
			if err := hasCondition(m.Status.Conditions, m.Generation, v1alpha1.ConditionReady, status, reason); err != nil {
				return err
			}
			if msg := meta.FindStatusCondition(m.Status.Conditions, v1alpha1.ConditionReady).Message; !strings.Contains(msg, inMessage) {
				return fmt.Errorf("message %q does not say %q", msg, inMessage)
			}
			return nil
		})
	}
	h.waitForCondition("stripe-production", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
	mappingReady("mapping Ready with its environment", metav1.ConditionTrue, v1alpha1.ReasonReady, "live")

	// The signing Secret is deleted: the ingress stops serving the environment, and the
	// mapping is no longer live.
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "stripe-webhook", Namespace: h.ns}}
	if err := h.c.Delete(h.ctx(), secret); err != nil {
		t.Fatal(err)
	}
	h.waitForCondition("stripe-production", v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSecretNotFound)
	mappingReady("mapping not Ready with its environment broken", metav1.ConditionFalse, v1alpha1.ReasonSourceEnvironmentNotReady, v1alpha1.ReasonSecretNotFound)

	// The Secret is back: so is the mapping.
	h.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "stripe-webhook"}, StringData: map[string]string{"secret": "whsec_test_secret"}})
	h.waitForCondition("stripe-production", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
	mappingReady("mapping Ready again", metav1.ConditionTrue, v1alpha1.ReasonReady, "live")
	h.waitForEvent("stripe-winback", corev1.EventTypeNormal, v1alpha1.ReasonReady)
}

func TestInvalidSourceIsReported(t *testing.T) {
	h := start(t, Options{})
	h.create(&v1alpha1.Source{
		ObjectMeta: metav1.ObjectMeta{Name: "github"},
		Spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
			Verification: v1alpha1.Verification{Type: v1alpha1.VerificationGitHub},
			EventType:    "headers['x-github-event'] +",
		}},
	})
	var msg string
	eventually(t, "Source InvalidExpression", func() error {
		src := &v1alpha1.Source{}
		if err := h.c.Get(h.ctx(), h.key("github"), src); err != nil {
			return err
		}
		if err := hasCondition(src.Status.Conditions, src.Generation, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonInvalidExpression); err != nil {
			return err
		}
		msg = src.Status.Conditions[0].Message
		return nil
	})
	if !strings.Contains(msg, "spec.http.eventType") || !strings.Contains(msg, "line 1, column") {
		t.Errorf("message %q does not name the field and position", msg)
	}
	h.waitForEvent("github", corev1.EventTypeWarning, v1alpha1.ReasonInvalidExpression)
}
