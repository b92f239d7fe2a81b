package config

import (
	"encoding/base64"
	"slices"
	"strings"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/provider"
)

// Redaction is what of a SourceEnvironment's requests' headers must never be stored:
// the headers its verification reads (signatures, tokens, credentials) and the values
// of every secret it is configured with, wherever they appear. It is derived from the
// configuration, so a header the user names (such as X-Supabase-Key or
// X-Shopify-Hmac-Sha256) is redacted whatever its name says. The request's URL (the
// endpoint token in its path, its query) is never stored at all.
type Redaction struct {
	// Headers are the lower-case names of the headers verification reads for a
	// signature, a token or credentials.
	Headers []string
	// Secrets are the configured secret values: signing secrets (and, for basic auth,
	// their password), secret variables and the endpoint token, each also in base64.
	Secrets []string
}

// Header reports whether a header's value must be redacted: verification reads it, or
// it carries a configured secret.
func (r *Redaction) Header(lowerName, value string) bool {
	if r == nil {
		return false
	}
	if slices.Contains(r.Headers, lowerName) {
		return true
	}
	for _, s := range r.Secrets {
		if strings.Contains(value, s) {
			return true
		}
	}
	return false
}

// redaction derives a SourceEnvironment's Redaction from its Source and the secret
// values it resolved.
func redaction(src *v1alpha1.Source, signingSecrets []string, secretValues ...string) *Redaction {
	r := &Redaction{Headers: provider.SignatureHeaders(&src.Spec)}
	add := func(s string) {
		if s == "" || slices.Contains(r.Secrets, s) {
			return
		}
		r.Secrets = append(r.Secrets, s, base64.StdEncoding.EncodeToString([]byte(s)))
	}
	for _, s := range signingSecrets {
		add(s)
		if _, password, ok := strings.Cut(s, ":"); ok && usesBasic(&src.Spec) {
			add(password)
		}
	}
	for _, s := range secretValues {
		add(s)
	}
	return r
}

func usesBasic(spec *v1alpha1.SourceSpec) bool {
	if spec.HeaderAuth != nil && spec.HeaderAuth.Scheme == v1alpha1.HeaderAuthBasic {
		return true
	}
	return spec.HTTP != nil && spec.HTTP.Verification.Type == v1alpha1.VerificationBasic
}
