package config

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

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
	// PayloadFields are the top-level fields of an event whose values are credentials
	// of the sender (provider.PayloadSecrets): the stored payload holds [redacted]
	// in their place.
	PayloadFields []string
}

// Redacted is what the event log stores in place of a redacted header or payload value.
const Redacted = "[redacted]"

// sensitiveHeaderParts mark headers whose values are never stored, whatever the
// configuration: names that say they carry credentials.
var sensitiveHeaderParts = []string{"signature", "secret", "token", "auth", "cookie", "api-key", "apikey", "password", "credential"}

// Payload returns body, an event's payload as received (a JSON object, or a form when
// form is set), with the values of PayloadFields replaced by "[redacted]": in a form,
// also within the JSON of its payload field (a Slack interaction). It returns body
// itself when there is nothing to redact, and never fails: a body it cannot read is
// returned as it is, as the ingress refused it before it was stored.
func (r *Redaction) Payload(body []byte, form bool) []byte {
	if r == nil || len(r.PayloadFields) == 0 {
		return body
	}
	if form {
		return r.form(body)
	}
	return r.object(body)
}

// object redacts the top-level members of a JSON object that PayloadFields names, in
// place of their values, leaving every other byte as it was. It reads what a lenient
// decoder would (invalid UTF-8, a name given twice), so that no reading of the stored
// payload finds a credential the ingress refused to parse.
func (r *Redaction) object(body []byte) []byte {
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return body
	}
	var out []byte
	last := 0
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return body
		}
		name := tok.String() // before the next read voids the token
		v, err := dec.ReadValue()
		if err != nil {
			return body
		}
		if !slices.Contains(r.PayloadFields, name) {
			continue
		}
		end := int(dec.InputOffset())
		start := end - len(v)
		out = append(append(out, body[last:start]...), `"`+Redacted+`"`...)
		last = end
	}
	if out == nil {
		return body
	}
	return append(out, body[last:]...)
}

// form redacts the fields of a form that PayloadFields names, and those within the
// JSON of its payload field.
func (r *Redaction) form(body []byte) []byte {
	pairs := strings.Split(string(body), "&")
	changed := false
	for i, pair := range pairs {
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			continue
		}
		switch {
		case slices.Contains(r.PayloadFields, key):
			pairs[i], changed = k+"="+url.QueryEscape(Redacted), true
		case key == "payload":
			value, err := url.QueryUnescape(v)
			if err != nil {
				continue
			}
			if red := r.object([]byte(value)); string(red) != value {
				pairs[i], changed = k+"="+url.QueryEscape(string(red)), true
			}
		}
	}
	if !changed {
		return body
	}
	return []byte(strings.Join(pairs, "&"))
}

// HeaderValue returns what the event log stores of a header, given its lower-case
// name and its values: [Redacted] when verification reads it, when it carries a
// configured secret, or when its name says it may carry credentials (whatever the
// configuration, so also for a nil Redaction); else its values joined by ", ".
func (r *Redaction) HeaderValue(lowerName string, values []string) string {
	for _, part := range sensitiveHeaderParts {
		if strings.Contains(lowerName, part) {
			return Redacted
		}
	}
	value := strings.Join(values, ", ")
	if r == nil {
		return value
	}
	if slices.Contains(r.Headers, lowerName) {
		return Redacted
	}
	for _, s := range r.Secrets {
		if strings.Contains(value, s) {
			return Redacted
		}
	}
	return value
}

// redaction derives a SourceEnvironment's Redaction from its Source and the secret
// values it resolved.
func redaction(src *v1alpha1.Source, signingSecrets []string, secretValues ...string) *Redaction {
	r := &Redaction{Headers: provider.SignatureHeaders(&src.Spec), PayloadFields: provider.PayloadSecrets(&src.Spec)}
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
