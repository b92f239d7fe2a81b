package verify

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestShopify(t *testing.T) {
	const secret, body = "shpss_test_client_secret", `{"id":820982911946154508,"email":"jon@example.com"}`
	genuine := b64MAC(sha256.New, secret, body)
	tests := map[string]struct {
		header  http.Header
		body    string
		secrets []string
		want    error
	}{
		"X-Shopify-Hmac-Sha256":                {header: http.Header{"X-Shopify-Hmac-Sha256": {genuine}}},
		"shopify-hmac-sha256 (newer delivery)": {header: http.Header{"Shopify-Hmac-Sha256": {genuine}}},
		"rotated: second secret":               {header: http.Header{"X-Shopify-Hmac-Sha256": {genuine}}, secrets: []string{"old", secret}},
		"wrong secret":                         {header: http.Header{"X-Shopify-Hmac-Sha256": {b64MAC(sha256.New, "other", body)}}, want: ErrSignatureMismatch},
		"tampered body":                        {header: http.Header{"X-Shopify-Hmac-Sha256": {genuine}}, body: body + " ", want: ErrSignatureMismatch},
		"hex instead of base64":                {header: http.Header{"X-Shopify-Hmac-Sha256": {hexMAC(sha256.New, secret, body)}}, want: ErrMalformedSignature},
		"no header":                            {header: http.Header{}, want: ErrMissingSignature},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			secrets := tc.secrets
			if secrets == nil {
				secrets = []string{secret}
			}
			v := must(Shopify(secrets))
			err := v.Verify(&Request{Header: tc.header, Body: []byte(or(tc.body, body))}, time.Now())
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}
