package ingress_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
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
	body := []byte(`{"token":"XXYYZZ","type":"event_callback","event_id":"Ev42","event":{"type":"app_mention","user":"U1","text":"hi"}}`)
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
	// Slack's verification token is not kept in the event log.
	if rec := h.eventLog("slack-test", a.EventIDs[0]); !strings.Contains(string(rec.Payload), `"token":"[redacted]"`) ||
		strings.Contains(string(rec.Payload), "XXYYZZ") {
		t.Errorf("event log payload %s, want the token redacted", rec.Payload)
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

// A Slack app's slash command and button click arrive as forms, signed like callbacks:
// each is typed and mapped like JSON (a slash command's fields, an interaction's
// payload= JSON), and a duplicate field is refused like a duplicate JSON key.
func TestSlackFormsAreMappedLikeJSON(t *testing.T) {
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	spec := v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSlack}
	deploy := trigger("slash_command", "[event.user_id]")
	deploy.When = "body.command == '/deploy'"
	deploy.Actions[0].TriggerWorkflow.Data = `{"args": body.text}`
	approve := trigger("block_actions", "[event.user_id]")
	approve.Actions[0].TriggerWorkflow.Data = `{"pr": body.actions[0].value}`
	h := newHarness(t, fixture("slack", spec, secret, deploy, approve))
	path := "/e/default/slack-test"
	now := time.Now()

	command := []byte("token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T1&user_id=U2147483697&command=%2Fdeploy&text=api+prod&trigger_id=1334.7384.80889")
	header := signedBy(t, spec, secret, now, command)
	if ct := header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Fatalf("inlet send's Content-Type for a form: %q", ct)
	}
	a := h.post(h.http.URL, path, header, command)
	if a.Status != http.StatusOK || a.Actions != 1 {
		t.Fatalf("slash command: %+v, want 200 with 1 action", a)
	}
	// The event log keeps the form as received, as a JSON string, so that the record
	// stays JSON for inlet events, kubectl get sourceevents and replay; but not Slack's
	// verification token.
	var kept string
	redactedCommand := strings.Replace(string(command), "gIkuvaNzQIHg97ATvDxqgjtO", "%5Bredacted%5D", 1)
	if rec := h.eventLog("slack-test", a.EventIDs[0]); json.Unmarshal(rec.Payload, &kept) != nil || kept != redactedCommand {
		t.Errorf("event log payload %s, want the form as a JSON string, its token redacted", rec.Payload)
	}
	click := []byte("payload=" + url.QueryEscape(`{"type":"block_actions","trigger_id":"t-77","user":{"id":"U9"},"actions":[{"action_id":"approve","value":"pr-1234"}]}`))
	if a := h.post(h.http.URL, path, signedBy(t, spec, secret, now, click), click); a.Status != http.StatusOK || a.Actions != 1 {
		t.Fatalf("button click: %+v, want 200 with 1 action", a)
	}
	got := map[string]string{}
	for _, m := range h.actions(jetstream.ActionStreamSubject) {
		got[m.Event.Type] = fmt.Sprint(m.Params["recipients"], " ", m.Params["data"])
	}
	want := map[string]string{
		"slash_command": "[U2147483697] map[args:api prod]",
		"block_actions": "[U9] map[pr:pr-1234]",
	}
	if !maps.Equal(got, want) {
		t.Errorf("published %v, want %v", got, want)
	}

	dup := []byte("command=%2Fdeploy&user_id=U1&command=%2Fdestroy")
	if a := h.post(h.http.URL, path, signedBy(t, spec, secret, now, dup), dup); a.Status != http.StatusBadRequest {
		t.Errorf("a form with a field twice: %+v, want 400", a)
	}
	bad := []byte("command=%2Fdeploy&text=%FF")
	if a := h.post(h.http.URL, path, signedBy(t, spec, secret, now, bad), bad); a.Status != http.StatusBadRequest {
		t.Errorf("a form that is not UTF-8: %+v, want 400", a)
	}
}

// An http source verified with twilio: behind a gateway, the request reaches the ingress
// at its own address, and verifies against the public URL configured, never against
// what X-Forwarded-* say. The SMS's form fields are mapped like JSON.
func TestTwilioBehindAGateway(t *testing.T) {
	const token, public = "twilio-auth-token", "https://hooks.example.com/twilio/sms?tenant=acme"
	spec := v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
		Verification:   v1alpha1.Verification{Type: v1alpha1.VerificationTwilio, Twilio: &v1alpha1.TwilioVerification{URL: public}},
		EventType:      "'sms.' + body.SmsStatus",
		IdempotencyKey: "body.MessageSid",
		UserID:         "body.From",
	}}
	m := trigger("sms.received", "[event.user_id]")
	m.Actions[0].TriggerWorkflow.Data = `{"text": body.Body}`
	h := newHarness(t, fixture("twilio", spec, token, m))
	path := "/e/default/twilio-test"
	body := []byte("MessageSid=SM1&SmsStatus=received&From=%2B14158675309&To=%2B18005551212&Body=Hello+%C3%A9")

	for name, header := range map[string]http.Header{
		"another account's auth token": signedBy(t, spec, "another-token", time.Now(), body),
		"signed for the ingress's own URL, with forwarded headers": func() http.Header {
			other := spec.DeepCopy()
			other.HTTP.Verification.Twilio.URL = h.http.URL + path
			hd := signedBy(t, *other, token, time.Now(), body)
			hd.Set("X-Forwarded-Proto", "https")
			hd.Set("X-Forwarded-Host", "hooks.example.com")
			return hd
		}(),
		"not signed": {"Content-Type": {"application/x-www-form-urlencoded"}},
	} {
		if a := h.post(h.http.URL, path, header, body); a.Status != http.StatusUnauthorized {
			t.Errorf("%s: %+v, want 401", name, a)
		}
	}
	a := h.post(h.http.URL, path, signedBy(t, spec, token, time.Now(), body), body)
	if a.Status != http.StatusOK || a.Actions != 1 {
		t.Fatalf("signed for the public URL: %+v, want 200 with 1 action", a)
	}
	got := h.actions(jetstream.ActionStreamSubject)
	if len(got) != 1 || fmt.Sprint(got[0].Params["recipients"], " ", got[0].Params["data"]) != "[+14158675309] map[text:Hello é]" {
		t.Errorf("published %+v", got)
	}
}

// Shopify signs the body with the app's secret; the topic header types it, in either
// spelling, and the event id keys it.
func TestShopifyWebhooks(t *testing.T) {
	const secret = "shpss_client_secret"
	spec := v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeShopify}
	h := newHarness(t, merge(
		fixture("shopify", spec, secret, trigger("orders/create", "[event.user_id]")),
	))
	path := "/e/default/shopify-test"
	body := []byte(`{"id":820982911946154508,"email":"jon@example.com","customer":{"id":115310627314723954}}`)
	withTopic := func(hd http.Header, newer bool) http.Header {
		if newer { // Shopify's newer delivery: the names without X-
			hd.Set("Shopify-Hmac-Sha256", hd.Get("X-Shopify-Hmac-Sha256"))
			hd.Del("X-Shopify-Hmac-Sha256")
			hd.Set("shopify-topic", "orders/create")
			hd.Set("shopify-event-id", "evt-1")
		} else {
			hd.Set("X-Shopify-Topic", "orders/create")
			hd.Set("X-Shopify-Event-Id", "evt-1")
		}
		return hd
	}
	if a := h.post(h.http.URL, path, withTopic(signedBy(t, spec, "another-apps-secret", time.Now(), body), false), body); a.Status != http.StatusUnauthorized {
		t.Errorf("another app's secret: %+v, want 401", a)
	}
	if a := h.post(h.http.URL, path, withTopic(signedBy(t, spec, secret, time.Now(), body), false), body); a.Status != http.StatusOK || a.Actions != 1 {
		t.Fatalf("signed with the app's secret: %+v, want 200 with 1 action", a)
	}
	// The same event through the newer header names: the same key, nothing new.
	if a := h.post(h.http.URL, path, withTopic(signedBy(t, spec, secret, time.Now(), body), true), body); a.Status != http.StatusOK || !a.Idempotent {
		t.Errorf("the newer spelling of the same event: %+v, want 200 and idempotent", a)
	}
	got := h.actions(jetstream.ActionStreamSubject)
	if len(got) != 1 || got[0].Event.Type != "orders/create" || fmt.Sprint(got[0].Params["recipients"]) != "[115310627314723954]" {
		t.Errorf("published %+v", got)
	}
}

// Amplitude and Clay send a shared bearer secret. A cohort sync becomes one event per
// member, so a mapping acts once per person, and a retry of the sync publishes nothing
// new; a user update's key is made of the user, the time and the properties.
func TestAmplitudeCohortSyncActsPerMember(t *testing.T) {
	const secret = "amplitude-shared-secret"
	spec := v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeAmplitude}
	entered := trigger("cohort.entered", "[event.user_id]")
	entered.Actions[0].TriggerWorkflow.Data = `{"cohort": body.cohort_name, "plan": body.user.user_properties.plan}`
	updated := trigger("user.updated", "[event.user_id]")
	updated.Actions[0].TriggerWorkflow.Workflow = "profile-changed"
	h := newHarness(t, fixture("amplitude", spec, secret, entered, updated))
	path := "/e/default/amplitude-test"
	sync := []byte(`{"cohort_name":"Power users","cohort_id":"gs72ns","in_cohort":true,"computed_time":"1764633600","message_id":"m:54",
		"users":[{"user_id":"u1","user_properties":{"plan":"pro"}},{"user_id":"u2","user_properties":{"plan":"team"}},{"user_id":"u3","user_properties":{"plan":"pro"}}]}`)

	if a := h.post(h.http.URL, path, signedBy(t, spec, "not-the-secret", time.Now(), sync), sync); a.Status != http.StatusUnauthorized {
		t.Errorf("another bearer secret: %+v, want 401", a)
	}
	a := h.post(h.http.URL, path, signedBy(t, spec, secret, time.Now(), sync), sync)
	if a.Status != http.StatusOK || a.Events != 3 || a.Actions != 3 {
		t.Fatalf("cohort sync: %+v, want 200 with 3 events and 3 actions", a)
	}
	if a := h.post(h.http.URL, path, signedBy(t, spec, secret, time.Now(), sync), sync); a.Status != http.StatusOK || !a.Idempotent {
		t.Errorf("Amplitude's retry of the sync: %+v, want 200 and idempotent", a)
	}
	update := []byte(`{"user_id":"u1","event_time":1764633600456,"user_properties":{"plan":"team"}}`)
	for range 2 { // a retry of one update is one update
		if a := h.post(h.http.URL, path, signedBy(t, spec, secret, time.Now(), update), update); a.Status != http.StatusOK {
			t.Fatalf("user update: %+v", a)
		}
	}
	other := []byte(`{"user_id":"u1","event_time":1764633600456,"user_properties":{"plan":"enterprise"}}`)
	if a := h.post(h.http.URL, path, signedBy(t, spec, secret, time.Now(), other), other); a.Status != http.StatusOK || a.Actions != 1 {
		t.Fatalf("another update at the same time: %+v, want 1 action", a)
	}
	var members []string
	profiles := 0
	for _, m := range h.actions(jetstream.ActionStreamSubject) {
		switch m.Params["workflow"] {
		case "w":
			members = append(members, fmt.Sprint(m.Params["recipients"], " ", m.Params["data"]))
		case "profile-changed":
			profiles++
		}
	}
	slices.Sort(members)
	want := []string{"[u1] map[cohort:Power users plan:pro]", "[u2] map[cohort:Power users plan:team]", "[u3] map[cohort:Power users plan:pro]"}
	if !slices.Equal(members, want) || profiles != 2 {
		t.Errorf("published %v and %d profile updates; want %v and 2", members, profiles, want)
	}
}

func TestClayBearerSecret(t *testing.T) {
	const secret = "clay-shared-secret"
	spec := v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeClay}
	h := newHarness(t, fixture("clay", spec, secret, trigger("lead_enriched", "[event.user_id]")))
	path := "/e/default/clay-test"
	body := []byte(`{"event":"lead_enriched","user_id":"lead_8412","email":"ada@example.com"}`)
	for name, header := range map[string]http.Header{
		"another secret": signedBy(t, spec, "not-the-clay-secret", time.Now(), body),
		"no secret":      {"Content-Type": {"application/json"}},
	} {
		if a := h.post(h.http.URL, path, header, body); a.Status != http.StatusUnauthorized {
			t.Errorf("%s: %+v, want 401", name, a)
		}
	}
	if a := h.post(h.http.URL, path, signedBy(t, spec, secret, time.Now(), body), body); a.Status != http.StatusOK || a.Actions != 1 {
		t.Fatalf("the shared secret: %+v, want 200 with 1 action", a)
	}
}
