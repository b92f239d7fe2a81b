//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"inlet.dev/inlet/ingress/jetstream"
)

// wantAction is an action a sample event turns into, as the notification engine reads
// it from JetStream.
type wantAction struct {
	subject string
	mapping string
	// params are parameters the action must carry, as JSON.
	params map[string]string
}

// sampleEvents are, for each sample SourceEnvironment, a sample event and the actions
// config/samples/ maps it to.
var sampleEvents = []struct {
	sourceEnvironment string
	eventType         string
	actions           []wantAction
}{
	{"stripe-production", "customer.subscription.created", []wantAction{
		{jetstream.ActionSubject("production", "identifyUser"), "stripe-subscription-created",
			map[string]string{"id": `"cus_QxSampleAda"`}},
		{jetstream.ActionSubject("production", "triggerWorkflow"), "stripe-subscription-created",
			map[string]string{"workflow": `"subscription-welcome"`, "recipients": `["cus_QxSampleAda"]`}},
	}},
	{"clerk-production", "user.created", []wantAction{
		{jetstream.ActionSubject("production", "identifyUser"), "clerk-user-created",
			map[string]string{"id": `"user_29w83sxmDNGwOuEthce5gg56FcC"`}},
		{jetstream.ActionSubject("production", "triggerWorkflow"), "clerk-user-created",
			map[string]string{"workflow": `"welcome"`, "recipients": `["user_29w83sxmDNGwOuEthce5gg56FcC"]`}},
	}},
	{"segment-production", "Project Created", []wantAction{
		{jetstream.ActionSubject("production", "setObject"), "segment-project-created",
			map[string]string{"collection": `"projects"`, "id": `"proj_difference_engine"`}},
		{jetstream.ActionSubject("production", "subscribeUser"), "segment-project-created",
			map[string]string{"collection": `"projects"`, "objectId": `"proj_difference_engine"`, "recipients": `["user-ada"]`}},
	}},
	{"github-development", "issues.assigned", []wantAction{
		{jetstream.ActionSubject("development", "triggerWorkflow"), "github-issue-assigned",
			map[string]string{"workflow": `"issue-assigned"`, "recipients": `["1002"]`, "actor": `"1001"`}},
	}},
}

// sampleActions returns the actions sampleEvents expects of a SourceEnvironment's sample.
func sampleActions(t *testing.T, sourceEnvironment string) []wantAction {
	t.Helper()
	for _, tc := range sampleEvents {
		if tc.sourceEnvironment == sourceEnvironment {
			return tc.actions
		}
	}
	t.Fatalf("no sample event for %s", sourceEnvironment)
	return nil
}

// TestSamplesServeEvents sends, for each sample SourceEnvironment, a signed sample event
// to its ingress Service, as the provider would: it is answered 2xx and its actions are
// on JetStream, on their subjects, with their content; the same event again is answered
// 2xx as idempotent and stores nothing new; the event with its body altered is 401.
func TestSamplesServeEvents(t *testing.T) {
	dumpOnFailure(t)
	kc := cl.Client()
	for _, tc := range sampleEvents {
		t.Run(tc.sourceEnvironment, func(t *testing.T) {
			se := waitSourceEnvironmentReady(t, kc, tc.sourceEnvironment)
			for _, m := range mappingsOf(t, kc, tc.sourceEnvironment) {
				waitEventMappingReady(t, kc, m.Name)
			}
			actions := openActionStream(t, se.Spec.ActionStream())
			s := newSender(t, kc, tc.sourceEnvironment, keepAliveClient(1))
			d := s.samples(t, tc.eventType)(uniqueKey("sample"))
			from := actions.lastSeq(t)

			a := s.postOnceReachable(t, d)
			if a.Status/100 != 2 || a.Actions != len(tc.actions) || a.Idempotent {
				t.Fatalf("a signed %s event: answered %s; want 2xx with %d actions, not idempotent", tc.eventType, a, len(tc.actions))
			}
			stored := actionsOf(actions.since(t, from), tc.sourceEnvironment, d.key)
			checkActions(t, stored, tc.actions, tc.eventType)

			// The provider delivers the same event again: nothing new is stored.
			from = actions.lastSeq(t)
			again, err := s.post(t.Context(), d)
			if err != nil || again.Status/100 != 2 || !again.Idempotent || again.Duplicates != len(tc.actions) {
				t.Errorf("the same event again: answered %s, %v; want 2xx, idempotent, %d duplicates", again, err, len(tc.actions))
			}
			if n := len(actionsOf(actions.since(t, from), tc.sourceEnvironment, d.key)); n != 0 {
				t.Errorf("the same event again stored %d more actions; want none", n)
			}

			// The event altered after signing is refused.
			tampered, err := s.postTampered(t.Context(), d)
			if err != nil || tampered.Status != http.StatusUnauthorized {
				t.Errorf("a tampered event: answered %s, %v; want 401", tampered, err)
			}
		})
	}
}

// checkActions checks that stored holds exactly the wanted actions of one event: their
// subjects, mappings, event type and parameters, and a Nats-Msg-Id each.
func checkActions(t *testing.T, stored []storedAction, want []wantAction, eventType string) {
	t.Helper()
	got := make([]string, 0, len(stored))
	for _, s := range stored {
		got = append(got, s.Subject)
	}
	if len(stored) != len(want) {
		t.Fatalf("%d actions stored on %v; want %d", len(stored), got, len(want))
	}
	for _, w := range want {
		i := slices.IndexFunc(stored, func(s storedAction) bool { return s.Subject == w.subject && s.Action.Mapping == w.mapping })
		if i < 0 {
			t.Errorf("no action of mapping %s on %s; stored on %v", w.mapping, w.subject, got)
			continue
		}
		s := stored[i]
		if s.Action.Event.Type != eventType {
			t.Errorf("action on %s: event type %q; want %q", s.Subject, s.Action.Event.Type, eventType)
		}
		if s.MsgID == "" || s.MsgID != s.Action.ID {
			t.Errorf("action on %s: Nats-Msg-Id %q, id %q; want both the same, not empty", s.Subject, s.MsgID, s.Action.ID)
		}
		for name, value := range w.params {
			have, _ := json.Marshal(s.Action.Params[name])
			if string(have) != value {
				t.Errorf("action on %s: %s is %s; want %s", s.Subject, name, have, value)
			}
		}
	}
	if t.Failed() {
		all := make([]string, 0, len(stored))
		for _, s := range stored {
			data, _ := json.Marshal(s.Action)
			all = append(all, fmt.Sprintf("%s %s", s.Subject, data))
		}
		t.Logf("stored:\n%s", strings.Join(all, "\n"))
	}
}
