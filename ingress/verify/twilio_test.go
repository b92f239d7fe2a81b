package verify

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Twilio's published example (its security docs and the validator tests of its SDKs,
// e.g. twilio-php RequestValidatorTest): auth token 12345, this URL and these POST
// parameters give this signature; the JSON body with bodySHA256 gives the other.
const (
	twilioToken   = "12345"
	twilioURL     = "https://mycompany.com/myapp.php?foo=1&bar=2"
	twilioSig     = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
	twilioJSON    = `{"property": "value", "boolean": true}`
	twilioJSONSum = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
	twilioJSONSig = "a9nBmqA0ju/hNViExpshrM61xv4="
	// The same URL and parameters, with Digits=5678, Digits=1234, Digits=1234, Sid and
	// SidAccount (twilio-php testValidateWithArrayAndDuplicates): each distinct value
	// once, sorted.
	twilioDupSig = "IK+Dwps556ElfBT0I3Rgjkr1wJU="
)

// twilioForm is the example's parameters as Twilio posts them, in another order.
var twilioForm = url.Values{
	"Digits": {"1234"}, "To": {"+18005551212"}, "From": {"+14158675309"},
	"Caller": {"+14158675309"}, "CallSid": {"CA1234567890ABCDE"},
}.Encode()

func TestTwilio(t *testing.T) {
	form := "application/x-www-form-urlencoded"
	tests := map[string]struct {
		url, sig, body, contentType string
		query                       url.Values
		secrets                     []string
		want                        error
	}{
		"official example":             {},
		"fields in any order":          {body: "To=%2B18005551212&Digits=1234&Caller=%2B14158675309&From=%2B14158675309&CallSid=CA1234567890ABCDE"},
		"repeated fields (twilio-php)": {sig: twilioDupSig, body: "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234"},
		"configured with :443":         {url: "https://mycompany.com:443/myapp.php?foo=1&bar=2"},
		"JSON body with bodySHA256":    {sig: twilioJSONSig, body: twilioJSON, contentType: "application/json", query: url.Values{"bodySHA256": {twilioJSONSum}}},
		"rotated: second token":        {secrets: []string{"old-token", twilioToken}},
		"content type with charset":    {contentType: form + "; charset=utf-8"},

		"wrong auth token":             {secrets: []string{"54321"}, want: ErrSignatureMismatch},
		"another URL (the proxy's)":    {url: "http://ingress.inlet.svc:8080/e/default/twilio", want: ErrSignatureMismatch},
		"http instead of https":        {url: "http://mycompany.com/myapp.php?foo=1&bar=2", want: ErrSignatureMismatch},
		"a field changed":              {body: strings.Replace(twilioForm, "Digits=1234", "Digits=9999", 1), want: ErrSignatureMismatch},
		"a field added":                {body: twilioForm + "&Extra=1", want: ErrSignatureMismatch},
		"JSON body changed":            {sig: twilioJSONSig, body: `{"property": "evil"}`, contentType: "application/json", query: url.Values{"bodySHA256": {twilioJSONSum}}, want: ErrSignatureMismatch},
		"JSON without bodySHA256":      {sig: twilioJSONSig, body: twilioJSON, contentType: "application/json", want: ErrSignatureMismatch},
		"no signature":                 {sig: "-", want: ErrMissingSignature},
		"signature not base64":         {sig: "not base64!", want: ErrMalformedSignature},
		"signature of 32 bytes":        {sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8RSOYDt4T1cUTdK1PDd93=", want: ErrMalformedSignature},
		"malformed escape in the form": {body: "Digits=%G1", want: ErrMalformedSignature},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			secrets := tc.secrets
			if secrets == nil {
				secrets = []string{twilioToken}
			}
			v, err := Twilio(or(tc.url, twilioURL), secrets)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{"Content-Type": {or(tc.contentType, form)}}
			if sig := or(tc.sig, twilioSig); sig != "-" {
				h.Set("X-Twilio-Signature", sig)
			}
			err = v.Verify(&Request{Header: h, Query: tc.query, Body: []byte(or(tc.body, twilioForm))}, time.Now())
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// Forwarded headers never change what is verified: the configured public URL is.
func TestTwilioIgnoresForwardedHeaders(t *testing.T) {
	v, err := Twilio("http://internal:8080/e/default/twilio", []string{twilioToken})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{
		"Content-Type":       {"application/x-www-form-urlencoded"},
		"X-Twilio-Signature": {twilioSig},
		"X-Forwarded-Proto":  {"https"},
		"X-Forwarded-Host":   {"mycompany.com"},
		"Forwarded":          {"proto=https;host=mycompany.com"},
	}
	if err := v.Verify(&Request{Header: h, Body: []byte(twilioForm)}, time.Now()); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("Verify = %v: a forwarded host must not make another URL's signature valid", err)
	}
}

func TestTwilioConfig(t *testing.T) {
	for _, u := range []string{"", "mycompany.com/hook", "ftp://mycompany.com/", "https://", "https://a b"} {
		if _, err := Twilio(u, []string{twilioToken}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Twilio(%q) = %v, want ErrInvalidConfig", u, err)
		}
	}
	if _, err := Twilio(twilioURL, nil); !errors.Is(err, ErrNoSecret) {
		t.Errorf("no auth token: %v", err)
	}
}
