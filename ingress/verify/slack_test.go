package verify

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Slack's published example: the step-by-step walk-through of "Verifying requests from
// Slack" (api.slack.com/authentication/verifying-requests-from-slack), a slash command.
const (
	slackSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	slackTS     = 1531420618
	slackBody   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	slackSig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func TestSlack(t *testing.T) {
	tests := map[string]struct {
		secrets []string
		sig, ts string // "-" leaves the header out
		body    string
		now     time.Time
		want    error
	}{
		"official example":        {},
		"rotated: second secret":  {secrets: []string{"other", slackSecret}},
		"uppercase hex":           {sig: "v0=" + strings.ToUpper(slackSig[3:])},
		"299s old":                {now: unix(slackTS + 299)},
		"299s in the future":      {now: unix(slackTS - 299)},
		"exactly 300s old":        {now: unix(slackTS + 300), want: ErrTimestampOutOfTolerance},
		"301s in the future":      {now: unix(slackTS - 301), want: ErrTimestampOutOfTolerance},
		"wrong secret":            {secrets: []string{"not-the-signing-secret"}, want: ErrSignatureMismatch},
		"tampered body":           {body: slackBody + "&x=1", want: ErrSignatureMismatch},
		"timestamp changed":       {ts: "1531420619", want: ErrSignatureMismatch},
		"no signature":            {sig: "-", want: ErrMissingSignature},
		"no timestamp":            {ts: "-", want: ErrMissingSignature},
		"v1 scheme":               {sig: "v1=" + slackSig[3:], want: ErrMalformedSignature},
		"short signature":         {sig: slackSig[:60], want: ErrMalformedSignature},
		"timestamp not a number":  {ts: "1531420618.5", want: ErrMalformedSignature},
		"timestamp leading zero":  {ts: "01531420618", want: ErrMalformedSignature},
		"timestamp with a sign":   {ts: "+1531420618", want: ErrMalformedSignature},
		"signature without v0=":   {sig: slackSig[3:], want: ErrMalformedSignature},
		"milliseconds: too far":   {ts: "1531420618000", want: ErrTimestampOutOfTolerance},
		"stripe-style header":     {sig: "t=1531420618,v1=" + slackSig[3:], want: ErrMalformedSignature},
		"empty secret list fails": {secrets: []string{}, want: ErrNoSecret},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			secrets := tc.secrets
			if secrets == nil {
				secrets = []string{slackSecret}
			}
			v, err := Slack(secrets, 0)
			if err != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("Slack: %v, want %v", err, tc.want)
				}
				return
			}
			h := http.Header{}
			if sig := or(tc.sig, slackSig); sig != "-" {
				h.Set("X-Slack-Signature", sig)
			}
			if ts := or(tc.ts, "1531420618"); ts != "-" {
				h.Set("X-Slack-Request-Timestamp", ts)
			}
			now := tc.now
			if now.IsZero() {
				now = unix(slackTS)
			}
			err = v.Verify(&Request{Header: h, Body: []byte(or(tc.body, slackBody))}, now)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), slackSig[3:]) {
				t.Errorf("the error quotes the signature: %v", err)
			}
		})
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
