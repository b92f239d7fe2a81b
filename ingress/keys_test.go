package ingress_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/sign"
)

// keyPlaces says where each source type reads the idempotency key: a body field, or a
// header (which carries any key as text). supabase sends none.
var keyPlaces = map[string]struct{ field, header string }{
	"stripe":      {field: "id"},
	"workos":      {field: "id"},
	"posthog":     {field: "messageId"},
	"segment":     {field: "messageId"},
	"rudderstack": {field: "messageId"},
	"jitsu":       {field: "messageId"},
	"freshpaint":  {field: "messageId"},
	"http":        {field: "key"},
	"clerk":       {header: "Svix-Id"},
	"hightouch":   {header: "Idempotency-Key"},
	"census":      {header: "Idempotency-Key"},
	"polytomic":   {header: "Idempotency-Key"},
	"slack":       {field: "event_id"},
}

// The key rule is one for every source type, http included: a key of 200 "ü" (400
// bytes, 200 characters, under the limit of 255 characters) is kept, and a numeric key
// is written as its digits, exactly, even above 2^53.
func TestIdempotencyKeyRuleIsTheSameForEverySourceType(t *testing.T) {
	httpSpec := sourceCases["http"].spec
	httpSpec.HTTP = httpSpec.HTTP.DeepCopy()
	httpSpec.HTTP.EventType = "body.type"
	httpSpec.HTTP.IdempotencyKey = "body.key"
	specs := map[string]v1alpha1.SourceSpec{"http": httpSpec}
	var all []config.Inputs
	for name, tc := range sourceCases {
		spec, ok := specs[name]
		if !ok {
			spec = tc.spec
		}
		all = append(all, fixture(name, spec, tc.secret, v1alpha1.EventMappingSpec{EventType: tc.eventType, Actions: []v1alpha1.Action{{
			TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{Workflow: "w", Recipients: "['u1']", Data: `{"marker": body.marker}`},
		}}}))
	}
	h := newHarness(t, merge(all...))

	keys := map[string]struct {
		json string // the key as it is in the body
		want string
	}{
		"200 ü characters": {json: strconv.Quote(strings.Repeat("ü", 200)), want: strings.Repeat("ü", 200)},
		"number":           {json: "42", want: "42"},
		"number over 2^53": {json: "12345678901234567890", want: "12345678901234567890"},
	}
	for name, tc := range sourceCases {
		place, ok := keyPlaces[name]
		if !ok {
			continue // supabase: no key
		}
		for keyName, key := range keys {
			t.Run(name+"/"+keyName, func(t *testing.T) {
				var body map[string]any
				if err := json.Unmarshal([]byte(tc.body), &body); err != nil {
					t.Fatal(err)
				}
				if name == "http" {
					body["type"] = tc.eventType
				}
				// A unique marker per case, so that the case finds its own action.
				marker := fmt.Sprintf("%s-%s-%d", name, keyName, time.Now().UnixNano())
				body["marker"] = marker
				delete(body, place.field)
				raw, _ := json.Marshal(body)
				if place.field != "" {
					raw = append(raw[:len(raw)-1], fmt.Sprintf(",%q:%s}", place.field, key.json)...)
				}
				header, path := h.sign(name+"-test", raw)
				if place.header != "" {
					header.Set(place.header, key.want)
				}
				if name == "clerk" { // the svix-id is signed
					ts, _ := strconv.ParseInt(header.Get("Svix-Timestamp"), 10, 64)
					sig, err := sign.Svix(tc.secret, key.want, time.Unix(ts, 0), raw)
					if err != nil {
						t.Fatal(err)
					}
					header.Set("Svix-Signature", sig)
				}
				if name == "http" {
					header.Set("X-GitHub-Event", "issues")
				}
				a := h.post(h.http.URL, path, header, raw)
				if a.Status != 200 || a.Actions != 1 {
					t.Fatalf("answer = %+v, want 200 with 1 action", a)
				}
				for _, m := range h.messages(v1alpha1.DefaultActionStream, jetstream.ActionStreamSubject) {
					if !bytes.Contains(m.Data, []byte(marker)) {
						continue
					}
					var msg struct {
						ID    string `json:"id"`
						Event struct {
							IdempotencyKey string `json:"idempotencyKey"`
						} `json:"event"`
					}
					if err := json.Unmarshal(m.Data, &msg); err != nil {
						t.Fatal(err)
					}
					if msg.Event.IdempotencyKey != key.want {
						t.Errorf("idempotency key = %q, want %q", msg.Event.IdempotencyKey, key.want)
					}
					// On this R1 file stream each action goes with its own id,
					// derived from the key (on a replicated stream the event's
					// actions are one batch under the event's id).
					if want := m.Header.Get("Nats-Msg-Id"); want == "" || msg.ID != want {
						t.Errorf("Nats-Msg-Id = %q, id %q: want the key's message id", want, msg.ID)
					}
					return
				}
				t.Fatalf("no action stored for %s", marker)
			})
		}
	}
}

// Integers beyond 2^53 that fit int64 or uint64 stay exact from the body through CEL
// to the action's JSON: passed through, in a list or map built by the expression, as
// an id field, and as the user id.
func TestLargeIntegersStayExactThroughMappings(t *testing.T) {
	stripe := sourceCases["stripe"]
	h := newHarness(t, fixture("stripe", stripe.spec, stripe.secret, v1alpha1.EventMappingSpec{
		EventType: stripe.eventType,
		Actions: []v1alpha1.Action{
			{SetTenant: &v1alpha1.SetTenantAction{ID: "body.id64"}},
			{TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{Workflow: "w", Recipients: "[body.u64max]",
				Data: `{"passed": body.data, "built": [body.i64max, body.u64max, body.p53, body.i64min], "sum": body.p53 + 1}`}},
		},
	}))
	body := `{"id":"evt_big","type":"` + stripe.eventType + `","id64":12345678901234567890,
		"i64max":9223372036854775807,"u64max":18446744073709551615,"p53":9007199254740993,"i64min":-9223372036854775808,
		"data":{"object":{"n":12345678901234567890,"m":[9223372036854775807]}}}`
	if a := h.send("stripe-test", []byte(body)); a.Status != 200 || a.Actions != 2 {
		t.Fatalf("answer = %+v, want 200 with 2 actions", a)
	}
	msgs := h.messages(v1alpha1.DefaultActionStream, jetstream.ActionStreamSubject)
	if len(msgs) != 2 {
		t.Fatalf("stored %d actions, want 2", len(msgs))
	}
	var got []string
	for _, m := range msgs {
		var msg struct {
			Params json.RawMessage `json:"params"`
		}
		if err := json.Unmarshal(m.Data, &msg); err != nil {
			t.Fatal(err)
		}
		got = append(got, string(msg.Params))
	}
	want := []string{
		`{"id":"12345678901234567890"}`,
		`{"data":{"built":[9223372036854775807,18446744073709551615,9007199254740993,-9223372036854775808],` +
			`"passed":{"object":{"m":[9223372036854775807],"n":12345678901234567890}},"sum":9007199254740994},` +
			`"recipients":["18446744073709551615"],"workflow":"w"}`,
	}
	for i := range want {
		if compact(t, got[i]) != compact(t, want[i]) {
			t.Errorf("params %d =\n%s\nwant\n%s", i, got[i], want[i])
		}
	}
}

// compact removes insignificant space from JSON and sorts object keys, without
// reading numbers as float64.
func compact(t *testing.T, s string) string {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
