package config

import (
	"cmp"
	"encoding/base64"
	"regexp"
	"slices"
	"strings"

	"inlet.dev/inlet/api/v1alpha1"
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
	r := &Redaction{Headers: signatureHeaders(&src.Spec)}
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

// signatureHeaders are the lower-case names of the headers a Source's verification
// reads for a signature, a token or credentials. Message ids and timestamps are not
// among them: they prove nothing without the signature.
func signatureHeaders(spec *v1alpha1.SourceSpec) []string {
	var names []string
	add := func(ns ...string) {
		for _, n := range ns {
			if n != "" {
				names = append(names, strings.ToLower(strings.TrimSpace(n)))
			}
		}
	}
	switch spec.Type {
	case v1alpha1.SourceTypeStripe:
		add("Stripe-Signature")
	case v1alpha1.SourceTypeClerk:
		add("Svix-Signature", "Webhook-Signature")
	case v1alpha1.SourceTypeWorkOS:
		add("WorkOS-Signature")
	case v1alpha1.SourceTypeSegment:
		add("X-Signature")
	}
	if h := spec.HeaderAuth; h != nil {
		switch h.Scheme {
		case v1alpha1.HeaderAuthBearer, v1alpha1.HeaderAuthBasic:
			add("Authorization")
		case v1alpha1.HeaderAuthHeader:
			add(cmp.Or(h.Header, "X-Webhook-Secret"))
		}
	}
	if spec.HTTP != nil {
		v := &spec.HTTP.Verification
		switch v.Type {
		case v1alpha1.VerificationHMAC:
			if v.HMAC != nil {
				add(v.HMAC.Header)
			}
		case v1alpha1.VerificationStandardWebhooks:
			add("Webhook-Signature", "Svix-Signature")
		case v1alpha1.VerificationGitHub:
			add("X-Hub-Signature-256")
		case v1alpha1.VerificationBasic, v1alpha1.VerificationBearer:
			add("Authorization")
		case v1alpha1.VerificationHeaderToken:
			if v.HeaderToken != nil {
				add(v.HeaderToken.Header)
			}
		case v1alpha1.VerificationCEL:
			if v.CEL != nil {
				add(celHeaders(string(v.CEL.Expression))...)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// celHeaderRef finds the headers a CEL expression reads: headers['name'],
// headers["name"] and headers.name.
var celHeaderRef = regexp.MustCompile(`headers\s*(?:\[\s*(?:'([^']*)'|"([^"]*)")\s*\]|\.\s*([A-Za-z_][A-Za-z0-9_]*))`)

// celHeaders returns the names of the headers a CEL verification expression reads:
// whatever it compares them with, they are what authenticates the request.
func celHeaders(expr string) []string {
	var out []string
	for _, m := range celHeaderRef.FindAllStringSubmatch(expr, -1) {
		out = append(out, m[1]+m[2]+m[3])
	}
	return out
}
