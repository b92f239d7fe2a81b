package ingress_test

import (
	"fmt"
	"strings"
	"testing"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/jetstream"
)

// With several mappings on one event type, the event's actions are stored in the fixed
// action order as a whole, not mapping by mapping: the trigger of a mapping whose name
// sorts first still comes after another mapping's identifyUser and setObject.
func TestActionOrderAcrossMappings(t *testing.T) {
	stripe := sourceCases["stripe"]
	h := newHarness(t, fixture("stripe", stripe.spec, stripe.secret,
		// stripe-m0: cancel and trigger.
		v1alpha1.EventMappingSpec{EventType: stripe.eventType, Actions: []v1alpha1.Action{
			{TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{Workflow: "w", Recipients: "[body.data.object.customer]"}},
			{CancelWorkflow: &v1alpha1.CancelWorkflowAction{Workflow: "w", CancellationKey: "body.id"}},
		}},
		// stripe-m1: identify, set an object, set a tenant.
		v1alpha1.EventMappingSpec{EventType: stripe.eventType, Actions: []v1alpha1.Action{
			{SetTenant: &v1alpha1.SetTenantAction{ID: "'t1'"}},
			{SetObject: &v1alpha1.SetObjectAction{Collection: "subscriptions", ID: "body.data.object.id"}},
			{IdentifyUser: &v1alpha1.IdentifyUserAction{ID: "body.data.object.customer"}},
		}},
	))
	for i := range 5 {
		body := strings.Replace(stripe.body, `"evt_1"`, fmt.Sprintf(`"evt_order_%d"`, i), 1)
		if a := h.send("stripe-test", []byte(body)); a.Status != 200 || a.Actions != 5 || a.Duplicates != 0 {
			t.Fatalf("answer = %+v, want 200 with 5 actions", a)
		}
	}
	want := []v1alpha1.ActionKind{
		v1alpha1.ActionIdentifyUser, v1alpha1.ActionSetObject, v1alpha1.ActionSetTenant,
		v1alpha1.ActionCancelWorkflow, v1alpha1.ActionTriggerWorkflow,
	}
	raw := h.messages(v1alpha1.DefaultActionStream, jetstream.ActionStreamSubject)
	for i := 1; i < len(raw); i++ {
		if raw[i].Sequence <= raw[i-1].Sequence {
			t.Fatalf("messages not read in stream sequence order: %d after %d", raw[i].Sequence, raw[i-1].Sequence)
		}
	}
	msgs := h.actions(jetstream.ActionStreamSubject)
	if len(msgs) != 5*len(want) {
		t.Fatalf("stored %d actions, want %d", len(msgs), 5*len(want))
	}
	for i, m := range msgs {
		if got := v1alpha1.ActionKind(m.Action); got != want[i%len(want)] {
			t.Errorf("action at sequence %d = %s (mapping %s), want %s", i+1, got, m.Mapping, want[i%len(want)])
		}
	}
}

// An action never changes the body the other actions and mappings read: recipients
// passed through from the body are turned into ids in a copy.
func TestActionsDoNotChangeTheBody(t *testing.T) {
	stripe := sourceCases["stripe"]
	h := newHarness(t, fixture("stripe", stripe.spec, stripe.secret,
		trigger(stripe.eventType, "body.ids"),
		v1alpha1.EventMappingSpec{EventType: stripe.eventType, When: "body.ids[0] + 1.0 == 43.0", Actions: []v1alpha1.Action{
			{SetTenant: &v1alpha1.SetTenantAction{ID: "string(int(body.ids[1]))"}},
		}},
	))
	body := `{"id":"evt_ids","type":"` + stripe.eventType + `","ids":[42,7]}`
	if a := h.send("stripe-test", []byte(body)); a.Status != 200 || a.Actions != 2 || a.Failed != 0 {
		t.Fatalf("answer = %+v, want 200 with 2 actions and none failed", a)
	}
	for _, m := range h.actions(jetstream.ActionStreamSubject) {
		switch m.Action {
		case "triggerWorkflow":
			if got := fmt.Sprint(m.Params["recipients"]); got != "[42 7]" {
				t.Errorf("recipients = %s, want [42 7]", got)
			}
		case "setTenant":
			if m.Params["id"] != "7" {
				t.Errorf("tenant = %v, want 7", m.Params["id"])
			}
		}
	}
}
