package provider

import (
	"testing"
	"time"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/verify"
)

// Sign produces what the matching verifier accepts, for every scheme inlet send knows.
func TestHeadersVerify(t *testing.T) {
	now := time.Now()
	body := []byte(`{"type":"x","id":"1"}`)
	hmacSource := func(c v1alpha1.HMACVerification) *v1alpha1.SourceSpec {
		return &v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{Verification: v1alpha1.Verification{Type: v1alpha1.VerificationHMAC, HMAC: &c}}}
	}
	tests := map[string]struct {
		src      *v1alpha1.SourceSpec
		secret   string
		verifier func(secret string) (verify.Verifier, error)
	}{
		"stripe": {&v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}, "whsec_abc", func(s string) (verify.Verifier, error) { return verify.Stripe([]string{s}, 0) }},
		"clerk":  {&v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeClerk}, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", func(s string) (verify.Verifier, error) { return verify.Svix([]string{s}, 0) }},
		"workos": {&v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeWorkOS}, "sk", func(s string) (verify.Verifier, error) { return verify.WorkOS([]string{s}, 0) }},
		"segment": {&v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSegment}, "abc123", func(s string) (verify.Verifier, error) {
			return verify.SegmentSignature([]string{s})
		}},
		"bearer header auth": {&v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSupabase, HeaderAuth: &v1alpha1.HeaderAuth{Scheme: v1alpha1.HeaderAuthBearer}}, "tok", func(s string) (verify.Verifier, error) {
			return verify.Bearer([]string{s})
		}},
		"hmac id.timestamp.body base64 sha512": {hmacSource(v1alpha1.HMACVerification{
			Header: "X-Sig", Algorithm: v1alpha1.HMACSHA512, Encoding: v1alpha1.EncodingBase64, SignedContent: v1alpha1.SignedIDTimestampBody,
			TimestampHeader: "X-Ts", IDHeader: "X-Id", TimestampUnit: v1alpha1.TimestampMilliseconds,
		}), "k", func(s string) (verify.Verifier, error) {
			return verify.HMAC(verify.HMACConfig{Header: "X-Sig", Algorithm: verify.AlgorithmSHA512, Encoding: verify.EncodingBase64,
				SignedContent: verify.SignedContentIDTimestampBody, TimestampHeader: "X-Ts", IDHeader: "X-Id",
				TimestampUnit: verify.TimestampUnitMilliseconds, Tolerance: time.Minute}, []string{s})
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h, err := Sign(tc.src, tc.secret, now, body)
			if err != nil {
				t.Fatal(err)
			}
			v, err := tc.verifier(tc.secret)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Verify(&verify.Request{Header: h, Body: body}, now); err != nil {
				t.Errorf("signed request does not verify: %v", err)
			}
			if tc.src.HeaderAuth != nil {
				return // a header token does not cover the body
			}
			if err := v.Verify(&verify.Request{Header: h, Body: append(body, ' ')}, now); err == nil {
				t.Error("a tampered body verifies")
			}
		})
	}
}
