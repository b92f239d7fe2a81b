package provider

import (
	"net/http"
	"testing"
	"time"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/celext"
	"inlet.dev/inlet/ingress/events"
	"inlet.dev/inlet/ingress/verify"
)

// TestVectors runs the providers' published test vectors (/work/shared/providers.md,
// section 11) through sign → verify → describe: a provider signs the vector's body
// exactly as its sender does, its verifier accepts the vector at its time, and its
// describer types it. Vectors whose message id the sender chooses (Svix, Standard
// Webhooks) are verified as given.
func TestVectors(t *testing.T) {
	env, err := celext.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	github := v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
		Verification: v1alpha1.Verification{Type: v1alpha1.VerificationGitHub},
	}}
	standardWebhooks := v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
		Verification: v1alpha1.Verification{Type: v1alpha1.VerificationStandardWebhooks},
		EventType:    "'test'", IdempotencyKey: "headers['webhook-id']",
	}}
	twilio := v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
		Verification: v1alpha1.Verification{Type: v1alpha1.VerificationTwilio,
			Twilio: &v1alpha1.TwilioVerification{URL: "https://mycompany.com/myapp.php?foo=1&bar=2"}},
		EventType: "has(body.CallSid) ? 'call' : 'message'", IdempotencyKey: "body.CallSid", UserID: "body.From",
	}}
	workosBody := `{"id":"wh_01FG9JXJ9C9S052FX59JVG4EG1","data":{"id":"conn_01EHWNC0FCBHZ3BJ7EGKYXK0E6","name":"Foo Corp's Connection","state":"active","object":"connection","domains":[{"id":"conn_domain_01EHWNFTAFCF3CQAE5A9Q0P1YB","domain":"foo-corp.com","object":"connection_domain"}],"connection_type":"OktaSAML","organization_id":"org_01EHWNCE74X7JSDV0X3SZ3KJNY"},"event":"connection.activated"}`
	tests := map[string]struct {
		spec   v1alpha1.SourceSpec
		secret string
		at     time.Time
		body   string
		// signed are the headers Sign must set; given are the vector's headers when the
		// sender chooses a part of them (a message id), which are verified as they are.
		signed, given map[string]string
		want          events.Info // without Data; Type "" when the body is no event
	}{
		"#6 stripe": {
			spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}, secret: "whsec_test_secret", at: time.Unix(1700000000, 0),
			body:   `{"id":"evt_test_webhook","object":"event","type":"customer.created"}`,
			signed: map[string]string{"Stripe-Signature": "t=1700000000,v1=8bf06157161fb2abf0ea74bbdecb0380b17813d21157ecfb459a2de2b8d1b3a7"},
			want:   events.Info{Type: "customer.created", IdempotencyKey: "evt_test_webhook"},
		},
		"#7 stripe rolled secret": {
			spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}, secret: "whsec_test_secret_rolled_key", at: time.Unix(1700000000, 0),
			body:   `{"id":"evt_test_webhook","object":"event","type":"customer.created"}`,
			signed: map[string]string{"Stripe-Signature": "t=1700000000,v1=efcfa1d2d76f08281b0c2d9c99cbc9f3125e9e9342620507c90567b6e6367423"},
			want:   events.Info{Type: "customer.created", IdempotencyKey: "evt_test_webhook"},
		},
		"#3 clerk": {
			spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeClerk}, secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", at: time.Unix(1674087231, 0),
			body: `{"data":{"id":"user_29w83sxmDNGwOuEthce5gg56FcC"},"object":"event","type":"user.created"}`,
			given: map[string]string{"svix-id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "svix-timestamp": "1674087231",
				"svix-signature": "v1,PSWZeLKGX9/svDa+cQtH3WRazjYnlkMQgNgSe6YDlZ0="},
			want: events.Info{Type: "user.created", IdempotencyKey: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", UserID: "user_29w83sxmDNGwOuEthce5gg56FcC"},
		},
		"#4 workos (official)": {
			spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeWorkOS}, secret: "1lyKDzhJjuCkIscIWqkSe4YsQ", at: time.UnixMilli(1632409405772),
			body:   workosBody,
			signed: map[string]string{"WorkOS-Signature": "t=1632409405772, v1=67612f0e74f008b436a13b00266f90ef5c13f9cbcf6262206f5f4a539ff61702"},
			want:   events.Info{Type: "connection.activated", IdempotencyKey: "wh_01FG9JXJ9C9S052FX59JVG4EG1"},
		},
		"#5 workos": {
			spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeWorkOS}, secret: "secret", at: time.UnixMilli(1700000000000),
			body:   `{"id":"event_01","event":"dsync.user.created","data":{}}`,
			signed: map[string]string{"WorkOS-Signature": "t=1700000000000, v1=cf42c6f14592cc9c6a540b0b7f41d06d9bd181c90f25d4b0c81363d631b04b4b"},
			want:   events.Info{Type: "dsync.user.created", IdempotencyKey: "event_01"},
		},
		"#9 segment X-Signature": {
			spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSegment}, secret: "abc123", at: time.Unix(1700000000, 0),
			body:   `{"type":"track","event":"user.created","userId":"user-1","messageId":"some-id-from-source","properties":{"id":"user-1"}}`,
			signed: map[string]string{"X-Signature": "4c255099fe3bf3073eca732f8d4ff161091690b7"},
			want:   events.Info{Type: "user.created", IdempotencyKey: "some-id-from-source", UserID: "user-1"},
		},
		"#8 http github": {
			spec: github, secret: "It's a Secret to Everybody", at: time.Unix(1700000000, 0),
			body:   `Hello, World!`,
			signed: map[string]string{"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
		},
		"slack (official: Slack's signing walk-through)": {
			spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSlack}, secret: "8f742231b10e8888abcd99yyyzzz85a5", at: time.Unix(1531420618, 0),
			body: "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
			signed: map[string]string{"X-Slack-Request-Timestamp": "1531420618",
				"X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"},
		},
		"http twilio (official: Twilio's request validation example)": {
			spec: twilio, secret: "12345", at: time.Unix(1700000000, 0),
			body:   "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212",
			signed: map[string]string{"X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "Content-Type": "application/x-www-form-urlencoded"},
			want:   events.Info{Type: "call", IdempotencyKey: "CA1234567890ABCDE", UserID: "+14158675309"},
		},
		"#1 http standardWebhooks": {
			spec: standardWebhooks, secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", at: time.Unix(1614265330, 0),
			body: `{"test": 2432232314}`,
			given: map[string]string{"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
				"webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
			want: events.Info{Type: "test", IdempotencyKey: "msg_p5jXN8AQM9LWM0D4loKWxJek"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			body := []byte(tc.body)
			h, err := Sign(&tc.spec, tc.secret, tc.at, body)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			for k, want := range tc.signed {
				if got := h.Get(k); got != want {
					t.Errorf("Sign: %s = %q, want %q", k, got, want)
				}
			}
			if tc.given != nil {
				h = http.Header{"Content-Type": {"application/json"}}
				for k, v := range tc.given {
					h.Set(k, v)
				}
			}
			src := &v1alpha1.Source{Spec: tc.spec}
			c, err := Compile(Config{Source: src, Secrets: []string{tc.secret}, CEL: env})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Verifier.Verify(&verify.Request{Header: h, Body: body}, tc.at); err != nil {
				t.Errorf("the vector does not verify: %v", err)
			}
			if err := c.Verifier.Verify(&verify.Request{Header: h, Body: append(body, ' ')}, tc.at); err == nil {
				t.Error("the vector verifies with another body")
			}
			if tc.want.Type == "" {
				return
			}
			got := describeSample(t, c.Describer, h, body)
			got.Data = nil
			if got != tc.want {
				t.Errorf("Describe =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}
