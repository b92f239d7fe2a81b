package ingress_test

import (
	"net/http"
	"testing"
	"time"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/provider"
)

// The sources of issue 12, through the real ingress: an authentic request is accepted
// and its actions published; one signed with another secret, or too late, is 401 and
// publishes nothing.

// signedBy returns the headers a Source's sender sets, signed with secret at t.
func signedBy(t *testing.T, spec v1alpha1.SourceSpec, secret string, at time.Time, body []byte) http.Header {
	t.Helper()
	h, err := provider.Sign(&spec, secret, at, body)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSlackSigningSecret(t *testing.T) {
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	spec := v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSlack}
	h := newHarness(t, fixture("slack", spec, secret, trigger("app_mention", "[event.user_id]")))
	body := []byte(`{"type":"event_callback","event_id":"Ev42","event":{"type":"app_mention","user":"U1","text":"hi"}}`)
	path := "/e/default/slack-test"
	now := time.Now()

	for name, header := range map[string]http.Header{
		"another app's signing secret": signedBy(t, spec, "an-other-apps-signing-secret", now, body),
		"signed 6 minutes ago":         signedBy(t, spec, secret, now.Add(-6*time.Minute), body),
		"not signed":                   {"Content-Type": {"application/json"}},
	} {
		if a := h.post(h.http.URL, path, header, body); a.Status != http.StatusUnauthorized {
			t.Errorf("%s: status %d (%+v), want 401", name, a.Status, a)
		}
	}
	if got := h.actions(jetstream.ActionStreamSubject); len(got) != 0 {
		t.Fatalf("%d actions published for refused requests", len(got))
	}

	a := h.post(h.http.URL, path, signedBy(t, spec, secret, now, body), body)
	if a.Status != http.StatusOK || a.Actions != 1 {
		t.Fatalf("signed with the app's secret: %+v, want 200 with 1 action", a)
	}
	// Slack's retry of the same callback (same event_id) publishes nothing new.
	retry := signedBy(t, spec, secret, now.Add(time.Second), body)
	retry.Set("X-Slack-Retry-Num", "1")
	if a := h.post(h.http.URL, path, retry, body); a.Status != http.StatusOK || !a.Idempotent {
		t.Errorf("Slack's retry: %+v, want 200 and idempotent", a)
	}
	if got := h.actions(jetstream.ActionStreamSubject); len(got) != 1 || got[0].Params["recipients"] == nil {
		t.Errorf("published %+v, want one triggerWorkflow for U1", got)
	}
}
