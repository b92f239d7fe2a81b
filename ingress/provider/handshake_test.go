package provider

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/celext"
	"inlet.dev/inlet/ingress/verify"
)

func httpSpec(v v1alpha1.Verification, hs *v1alpha1.Handshake) *v1alpha1.SourceSpec {
	return &v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{Verification: v, Handshake: hs}}
}

// What the operator reports on a Source whose handshake cannot work, naming the field.
func TestCheckHandshake(t *testing.T) {
	none := v1alpha1.Verification{Type: v1alpha1.VerificationNone}
	header := v1alpha1.Verification{Type: v1alpha1.VerificationHeaderToken, HeaderToken: &v1alpha1.HeaderTokenVerification{Header: "Authorization"}}
	celHS := func(c v1alpha1.CELHandshake) *v1alpha1.Handshake {
		return &v1alpha1.Handshake{Type: v1alpha1.HandshakeCEL, CEL: &c}
	}
	tests := map[string]struct {
		spec *v1alpha1.SourceSpec
		want string // "" for valid
	}{
		"meta":                  {httpSpec(none, &v1alpha1.Handshake{Type: v1alpha1.HandshakeMeta, Meta: &v1alpha1.MetaHandshake{VerifyTokenVariable: "vt"}}), ""},
		"meta without variable": {httpSpec(none, &v1alpha1.Handshake{Type: v1alpha1.HandshakeMeta}), "spec.http.handshake.meta.verifyTokenVariable"},
		"okta with headerToken": {httpSpec(header, &v1alpha1.Handshake{Type: v1alpha1.HandshakeOkta}), ""},
		"okta unauthenticated":  {httpSpec(none, &v1alpha1.Handshake{Type: v1alpha1.HandshakeOkta}), "spec.http.verification must check it"},
		"graph":                 {httpSpec(none, &v1alpha1.Handshake{Type: v1alpha1.HandshakeMicrosoftGraph}), ""},
		"cel":                   {httpSpec(none, celHS(v1alpha1.CELHandshake{Match: "'challenge' in query", Body: "query.challenge"})), ""},
		"cel match not bool":    {httpSpec(none, celHS(v1alpha1.CELHandshake{Match: "query.challenge"})), "spec.http.handshake.cel.match: must be a bool"},
		"cel undeclared":        {httpSpec(none, celHS(v1alpha1.CELHandshake{Match: "true", Body: "qery.x"})), "spec.http.handshake.cel.body: line 1"},
		"cel header not string": {httpSpec(none, celHS(v1alpha1.CELHandshake{Match: "true", Headers: map[string]v1alpha1.Expression{"X-A": "1"}})), "headers[X-A]: must be a string"},
		"cel sets a cookie":     {httpSpec(none, celHS(v1alpha1.CELHandshake{Match: "true", Headers: map[string]v1alpha1.Expression{"set-cookie": "'a=b'"}})), "Set-Cookie cannot be set"},
		"cel bad header name":   {httpSpec(none, celHS(v1alpha1.CELHandshake{Match: "true", Headers: map[string]v1alpha1.Expression{"X A": "'a'"}})), "not a valid header name"},
		"cel 3xx":               {httpSpec(none, celHS(v1alpha1.CELHandshake{Match: "true", Status: 302})), "not a 2xx status"},
		"cel without cel":       {httpSpec(none, &v1alpha1.Handshake{Type: v1alpha1.HandshakeCEL}), "spec.http.handshake.cel is required"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := Check(tc.spec)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Check = %v, want valid", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Check = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

// A SourceEnvironment whose handshake lacks its secret, or cannot be genuine, is not
// served, and says why.
func TestCompileHandshakeNeedsItsSecret(t *testing.T) {
	env, err := celext.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	none := v1alpha1.Verification{Type: v1alpha1.VerificationNone}
	for name, tc := range map[string]struct {
		spec *v1alpha1.SourceSpec
		vars map[string]string
		want string
	}{
		"meta variable missing": {httpSpec(none, &v1alpha1.Handshake{Type: v1alpha1.HandshakeMeta,
			Meta: &v1alpha1.MetaHandshake{VerifyTokenVariable: "vt"}}), nil, `variable "vt", is not set`},
		"meta variable empty": {httpSpec(none, &v1alpha1.Handshake{Type: v1alpha1.HandshakeMeta,
			Meta: &v1alpha1.MetaHandshake{VerifyTokenVariable: "vt"}}), map[string]string{"vt": ""}, `variable "vt", is not set`},
		"zoom without secret": {httpSpec(none, &v1alpha1.Handshake{Type: v1alpha1.HandshakeZoom}), nil,
			"signingSecretRefs: a zoom handshake needs"},
		"okta unauthenticated": {httpSpec(none, &v1alpha1.Handshake{Type: v1alpha1.HandshakeOkta}), nil,
			"spec.http.verification must check it"},
	} {
		t.Run(name, func(t *testing.T) {
			src := &v1alpha1.Source{Spec: *tc.spec}
			_, err := Compile(Config{Source: src, Vars: tc.vars, CEL: env})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Compile = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

// Meta's verify token never reaches an error, and a near miss is a mismatch.
func TestMetaHandshakeErrorsHoldNoToken(t *testing.T) {
	hs, err := metaHandshake(&v1alpha1.MetaHandshake{VerifyTokenVariable: "vt"}, map[string]string{"vt": "s3cret-token"})
	if err != nil {
		t.Fatal(err)
	}
	for _, sent := range []string{"s3cret-toke", "s3cret-token ", "S3CRET-TOKEN"} {
		q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {sent}, "hub.challenge": {"7"}}
		a, err := hs.Answer(context.Background(), &HandshakeRequest{Method: http.MethodGet, Query: q})
		if a != nil || !errors.Is(err, verify.ErrSignatureMismatch) {
			t.Fatalf("token %q: %v, %v; want a mismatch", sent, a, err)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %q holds the token", err)
		}
	}
	q := url.Values{"hub.mode": {"unsubscribe"}, "hub.verify_token": {"s3cret-token"}, "hub.challenge": {"7"}}
	if _, err := hs.Answer(context.Background(), &HandshakeRequest{Method: http.MethodGet, Query: q}); !errors.Is(err, ErrMalformedHandshake) {
		t.Errorf("hub.mode unsubscribe: %v, want malformed", err)
	}
}

// The challenges echoed back are bounded and text.
func TestChallengeBounds(t *testing.T) {
	for name, v := range map[string]string{
		"empty":   "",
		"long":    strings.Repeat("a", maxChallenge+1),
		"control": "abc\r\nSet-Cookie: x",
		"binary":  "\xff\xfe",
	} {
		if _, err := challenge("t", "token", v); !errors.Is(err, ErrMalformedHandshake) {
			t.Errorf("%s: %v, want malformed", name, err)
		}
	}
	if got, err := challenge("t", "token", "Validation: Testing client application reachability"); err != nil || got == "" {
		t.Errorf("Graph's token: %q, %v", got, err)
	}
}

// Zoom's signature: the timestamp is signed and bounded, and the answer's key is the
// secret that verified the request, during a rotation too.
func TestZoomHandshakeRotation(t *testing.T) {
	hs, err := zoomHandshake([]string{"old-secret", "new-secret"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"event":"endpoint.url_validation","payload":{"plainToken":"tok"}}`)
	for _, secret := range []string{"old-secret", "new-secret"} {
		h := http.Header{}
		h.Set("X-Zm-Request-Timestamp", "1700000000")
		h.Set("X-Zm-Signature", ZoomSignature(secret, now, body))
		a, err := hs.Answer(context.Background(), &HandshakeRequest{Method: http.MethodPost, Header: h, Body: body, Received: now.Add(time.Minute)})
		if err != nil {
			t.Fatalf("%s: %v", secret, err)
		}
		if want := `{"encryptedToken":"` + ZoomEncryptedToken(secret, "tok") + `","plainToken":"tok"}`; string(a.Body) != want {
			t.Errorf("%s: %s, want %s", secret, a.Body, want)
		}
	}
	// A Zoom event that is not the validation goes on to the data path.
	other := []byte(`{"event":"meeting.started","payload":{"note":"endpoint.url_validation"}}`)
	if a, err := hs.Answer(context.Background(), &HandshakeRequest{Method: http.MethodPost, Body: other, Received: now}); a != nil || err != nil {
		t.Errorf("another event: %v, %v; want no handshake", a, err)
	}
}

// What `inlet send --handshake` sends is what each handshake answers as its sender
// expects, and only with the right secret.
func TestHandshakeProbes(t *testing.T) {
	env, err := celext.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	header := v1alpha1.Verification{Type: v1alpha1.VerificationHeaderToken, HeaderToken: &v1alpha1.HeaderTokenVerification{Header: "Authorization"}}
	none := v1alpha1.Verification{Type: v1alpha1.VerificationNone}
	tests := map[string]struct {
		spec     *v1alpha1.SourceSpec
		vars     map[string]string
		wrongVar map[string]string // the vars of a sender that has it wrong, when the handshake's secret is a variable
	}{
		"slack": {spec: &v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSlack}},
		"meta": {spec: httpSpec(none, &v1alpha1.Handshake{Type: v1alpha1.HandshakeMeta, Meta: &v1alpha1.MetaHandshake{VerifyTokenVariable: "vt"}}),
			vars: map[string]string{"vt": "verify-me"}, wrongVar: map[string]string{"vt": "guess"}},
		"microsoftGraph": {spec: httpSpec(none, &v1alpha1.Handshake{Type: v1alpha1.HandshakeMicrosoftGraph})},
		"zoom":           {spec: httpSpec(none, &v1alpha1.Handshake{Type: v1alpha1.HandshakeZoom})},
		"okta":           {spec: httpSpec(header, &v1alpha1.Handshake{Type: v1alpha1.HandshakeOkta})},
	}
	now := time.Now()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			compiled, err := Compile(Config{Source: &v1alpha1.Source{Spec: *tc.spec}, Secrets: []string{"the-secret"}, Vars: tc.vars, CEL: env})
			if err != nil {
				t.Fatal(err)
			}
			send := func(secret string, vars map[string]string) (*HandshakeAnswer, *HandshakeProbe, error) {
				p, err := NewHandshakeProbe(tc.spec, secret, vars, now)
				if err != nil {
					t.Fatal(err)
				}
				if p.Type != name {
					t.Errorf("probe type %q, want %q", p.Type, name)
				}
				a, err := compiled.Handshake.Answer(context.Background(), &HandshakeRequest{
					Method: p.Method, Header: p.Header, Query: p.Query, Body: p.Body, Received: now,
				})
				return a, p, err
			}
			a, p, err := send("the-secret", tc.vars)
			if err != nil || a == nil {
				t.Fatalf("Answer = %v, %v", a, err)
			}
			if err := p.Check(a.Status, a.Body); err != nil {
				t.Errorf("answer %d %s: %v", a.Status, a.Body, err)
			}
			if name == "microsoftGraph" {
				return // carries no secret
			}
			wrong, vars := "not-the-secret", tc.wrongVar
			if vars != nil {
				wrong = "the-secret"
			}
			if a, _, err := send(wrong, vars); a != nil || err == nil {
				t.Errorf("with the wrong secret: %v, %v; want refused", a, err)
			}
		})
	}
	if _, err := NewHandshakeProbe(&v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}, "s", nil, now); !errors.Is(err, ErrNoHandshake) {
		t.Errorf("stripe: %v, want ErrNoHandshake", err)
	}
}
