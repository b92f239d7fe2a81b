package provider

import (
	"slices"
	"testing"

	"inlet.dev/inlet/api/v1alpha1"
)

func TestSignatureHeaders(t *testing.T) {
	httpSpec := func(v v1alpha1.Verification) *v1alpha1.SourceSpec {
		return &v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{Verification: v}}
	}
	tests := map[string]struct {
		spec *v1alpha1.SourceSpec
		want []string
	}{
		"stripe":  {&v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}, []string{"stripe-signature"}},
		"clerk":   {&v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeClerk}, []string{"svix-signature", "webhook-signature"}},
		"segment": {&v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSegment}, []string{"x-signature"}},
		"supabase header": {&v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSupabase,
			HeaderAuth: &v1alpha1.HeaderAuth{Scheme: v1alpha1.HeaderAuthHeader, Header: "X-Supabase-Key"}}, []string{"x-supabase-key"}},
		"freshpaint default header": {&v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeFreshpaint,
			HeaderAuth: &v1alpha1.HeaderAuth{Scheme: v1alpha1.HeaderAuthHeader}}, []string{"x-webhook-secret"}},
		"posthog": {&v1alpha1.SourceSpec{Type: v1alpha1.SourceTypePostHog}, nil},
		"shopify hmac": {httpSpec(v1alpha1.Verification{Type: v1alpha1.VerificationHMAC,
			HMAC: &v1alpha1.HMACVerification{Header: "X-Shopify-Hmac-Sha256"}}), []string{"x-shopify-hmac-sha256"}},
		"header token": {httpSpec(v1alpha1.Verification{Type: v1alpha1.VerificationHeaderToken,
			HeaderToken: &v1alpha1.HeaderTokenVerification{Header: "X-Shared-Key"}}), []string{"x-shared-key"}},
		"cel": {httpSpec(v1alpha1.Verification{Type: v1alpha1.VerificationCEL, CEL: &v1alpha1.CELVerification{
			Expression: `headers['x-mac'] == hex.encode(hmac.sha256(vars.signingSecret, headers["X-Ts"] + string(rawBody))) && headers.x_key != ''`}}),
			[]string{"x-mac", "x-ts", "x_key"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := SignatureHeaders(tc.spec); !slices.Equal(got, tc.want) {
				t.Errorf("SignatureHeaders = %q, want %q", got, tc.want)
			}
		})
	}
}
