package controllers

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"inlet.dev/inlet/api/v1alpha1"
)

func TestInvalidExpressionIsReportedWithItsPosition(t *testing.T) {
	h := start(t, Options{})
	h.applySamples("stripe.yaml")
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
	eventually(t, "Ready once the SourceEnvironment exists", func() error {
		m, err := h.eventMapping("early")
		if err != nil {
			return err
		}
		return hasCondition(m.Status.Conditions, m.Generation, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
	})
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
