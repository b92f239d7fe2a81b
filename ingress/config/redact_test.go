package config

import (
	"encoding/json"
	"net/url"
	"testing"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/ratelimit"
)

func TestRedactionFindsSecretsInAnyHeader(t *testing.T) {
	src := &v1alpha1.Source{Spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeCensus, HeaderAuth: &v1alpha1.HeaderAuth{Scheme: v1alpha1.HeaderAuthBasic}}}
	r := redaction(src, []string{"user:pass-word"}, "var-secret", "")
	for value, want := range map[string]bool{
		"x var-secret y":       true,
		"pass-word":            true,
		"dXNlcjpwYXNzLXdvcmQ=": true,
		"harmless":             false,
		"":                     false,
	} {
		if got := r.HeaderValue("x-anything", []string{value}) == Redacted; got != want {
			t.Errorf("HeaderValue(x-anything, %q) redacted: %v, want %v", value, got, want)
		}
	}
	if r.HeaderValue("authorization", []string{"Basic whatever"}) != Redacted {
		t.Error("authorization not redacted for basic auth")
	}
	// Names that say they carry credentials are redacted whatever the configuration,
	// and the values of others are joined as HTTP joins them.
	var none *Redaction
	if got := none.HeaderValue("x-api-key", []string{"k"}); got != Redacted {
		t.Errorf("x-api-key without a configuration: %q, want %s", got, Redacted)
	}
	if got := none.HeaderValue("accept", []string{"a", "b"}); got != "a, b" {
		t.Errorf("accept: %q, want \"a, b\"", got)
	}
}

func TestRateLimit(t *testing.T) {
	burst := int32(7)
	tests := map[string]struct {
		spec *v1alpha1.RateLimitSpec
		want ratelimit.Limit
	}{
		"unset":         {nil, ratelimit.Limit{}},
		"default burst": {&v1alpha1.RateLimitSpec{RequestsPerSecond: 10}, ratelimit.Limit{PerSecond: 10, Burst: 20}},
		"burst":         {&v1alpha1.RateLimitSpec{RequestsPerSecond: 10, Burst: &burst}, ratelimit.Limit{PerSecond: 10, Burst: 7}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := rateLimit(tc.spec); got != tc.want {
				t.Errorf("rateLimit = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// A Slack Source's verification token is never kept in a stored payload: not in a
// callback's JSON, a slash command's form, nor an interaction's payload field; every
// other byte is kept as it was.
func TestRedactionOfPayloadFields(t *testing.T) {
	r := redaction(&v1alpha1.Source{Spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSlack}}, []string{"signing"})
	for _, tc := range []struct {
		name, body, want string
		form             bool
	}{
		{"callback", `{"token": "XXYYZZ" ,"team_id":"T1","event":{"token":"kept: not top-level"}}`,
			`{"token": "[redacted]" ,"team_id":"T1","event":{"token":"kept: not top-level"}}`, false},
		{"no token", `{"type":"url_verification", "challenge":"c"}`, `{"type":"url_verification", "challenge":"c"}`, false},
		{"slash command", "token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T1&text=api+prod",
			"token=%5Bredacted%5D&team_id=T1&text=api+prod", true},
		{"interaction", "payload=" + url.QueryEscape(`{"type":"block_actions","token":"abc","user":{"id":"U9"}}`),
			"payload=" + url.QueryEscape(`{"type":"block_actions","token":"[redacted]","user":{"id":"U9"}}`), true},
		{"not JSON", `{"token":`, `{"token":`, false},
		{"invalid UTF-8", "{\"\":{\"\xff\":\"\"},\"token\":[]}", "{\"\":{\"\xff\":\"\"},\"token\":\"[redacted]\"}", false},
		{"twice", `{"token":"a","token":"b"}`, `{"token":"[redacted]","token":"[redacted]"}`, false},
	} {
		if got := string(r.Payload([]byte(tc.body), tc.form)); got != tc.want {
			t.Errorf("%s: Payload = %s, want %s", tc.name, got, tc.want)
		}
	}
	// Other sources keep their payloads whole.
	stripe := redaction(&v1alpha1.Source{Spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}}, []string{"whsec"})
	if body := `{"token":"a Stripe field"}`; string(stripe.Payload([]byte(body), false)) != body {
		t.Error("a Stripe payload's token field was redacted")
	}
}

// Redaction.Payload never panics, keeps a JSON object JSON, and leaves no top-level
// token's value behind.
func FuzzRedactionPayload(f *testing.F) {
	f.Add([]byte(`{"token":"abc","a":1}`), false)
	f.Add([]byte(`{"a":{"token":"x"},"token":["t"]}`), false)
	f.Add([]byte("token=abc&payload=%7B%22token%22%3A%22x%22%7D"), true)
	f.Add([]byte("token&=%zz&payload=%7B"), true)
	f.Add([]byte("{\"\":{\"\xff\":\"\"},\"token\":[]}"), false)
	f.Add([]byte(`{"token":"a","token":"b"}`), false)
	r := redaction(&v1alpha1.Source{Spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSlack}}, []string{"signing"})
	f.Fuzz(func(t *testing.T, body []byte, form bool) {
		got := r.Payload(body, form)
		if form {
			return
		}
		var in, out map[string]any
		if json.Unmarshal(body, &in) != nil {
			return
		}
		if err := json.Unmarshal(got, &out); err != nil {
			t.Fatalf("Payload(%s) = %s: not JSON: %v", body, got, err)
		}
		if _, had := in["token"]; had && out["token"] != "[redacted]" {
			t.Fatalf("Payload(%s) = %s: token kept", body, got)
		}
		for k := range in {
			if _, ok := out[k]; !ok {
				t.Fatalf("Payload(%s) = %s: %s lost", body, got, k)
			}
		}
	})
}
