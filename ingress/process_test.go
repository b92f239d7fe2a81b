package ingress_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/wire"
)

// The core decides a request's fate without publishing, answering or counting
// anything, which is what lets `inlet test` call it: a batch's events carry their
// action records in publishing order, and each event's messages, a window of the
// request's, are the records still waiting to be published.
func TestProcessGroupsActionsByEvent(t *testing.T) {
	seg := sourceCases["segment"]
	in := fixture("segment", seg.spec, "", v1alpha1.EventMappingSpec{EventType: "Signed Up", Actions: []v1alpha1.Action{
		{TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{Workflow: "welcome", Recipients: "[body.userId]"}},
		{IdentifyUser: &v1alpha1.IdentifyUserAction{ID: "body.no_such_field"}},
	}})
	in.SourceEnvironments[0].Spec.IdentifyUsers = true
	snap := config.Build(in)
	if len(snap.Problems) > 0 {
		t.Fatalf("configuration problems: %v", snap.Problems)
	}
	env := snap.Lookup(types.NamespacedName{Namespace: ns, Name: "segment-test"})
	batch := `[{"type":"identify","userId":"u1","messageId":"m1","traits":{"name":"Ada"}},
	           {"type":"track","event":"Signed Up","userId":"u1","messageId":"m2"},
	           {"type":"track","event":"Nothing Maps This","userId":"u1","messageId":"m3"}]`
	o := ingress.Process(context.Background(), env, ingress.Request{
		Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(batch), Received: time.Now(),
	})
	if o.Rejection != nil {
		t.Fatalf("rejected: %+v", o.Rejection)
	}
	if len(o.Events) != 3 || len(o.Messages) != 2 {
		t.Fatalf("%d events and %d messages, want 3 and 2", len(o.Events), len(o.Messages))
	}
	type record struct{ mapping, action, status string }
	want := [][]record{
		{{wire.IdentifyUsersMapping, "identifyUser", ""}},
		{{"segment-m0", "identifyUser", wire.ActionFailed}, {"segment-m0", "triggerWorkflow", ""}},
		nil,
	}
	n := 0
	for i, ev := range o.Events {
		var got []record
		pending := 0
		for _, a := range ev.Actions {
			got = append(got, record{a.Mapping, a.Action, a.Status})
			if a.EventID != ev.ID {
				t.Errorf("event %d: action record of event %s", i, a.EventID)
			}
			if a.Status == "" {
				pending++
			}
		}
		if len(got) != len(want[i]) {
			t.Errorf("event %d: records %v, want %v", i, got, want[i])
		} else {
			for j := range got {
				if got[j] != want[i][j] {
					t.Errorf("event %d: records %v, want %v", i, got, want[i])
				}
			}
		}
		if len(ev.Messages) != pending {
			t.Errorf("event %d: %d messages for %d pending records", i, len(ev.Messages), pending)
		}
		for _, m := range ev.Messages {
			if m.Subject != o.Messages[n].Subject || string(m.Data) != string(o.Messages[n].Data) {
				t.Errorf("event %d: its messages are not the request's, in order", i)
			}
			n++
			var msg wire.ActionMessage
			if err := json.Unmarshal(m.Data, &msg); err != nil || msg.Event.ID != ev.ID {
				t.Errorf("event %d: message %s of event %q (%v)", i, m.Data, msg.Event.ID, err)
			}
		}
	}
	if got := o.Events[1].Matched; len(got) != 1 || got[0] != "segment-m0" {
		t.Errorf("mappings matched by the second event = %v", got)
	}

	stripe := sourceCases["stripe"]
	snap = config.Build(fixture("stripe", stripe.spec, stripe.secret, trigger(stripe.eventType, "[body.data.object.customer]")))
	env = snap.Lookup(types.NamespacedName{Namespace: ns, Name: "stripe-test"})
	o = ingress.Process(context.Background(), env, ingress.Request{Header: http.Header{}, Body: []byte(stripe.body), Received: time.Now()})
	if r := o.Rejection; r == nil || r.Status != http.StatusUnauthorized || r.Result != wire.EventUnauthorized || r.Check == "" || !r.Logged || len(o.Messages) > 0 {
		t.Errorf("unsigned: rejection %+v, %d messages; want 401 unauthorized, logged, nothing to publish", r, len(o.Messages))
	}
}
