package verify

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // Twilio signs with HMAC-SHA1.
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"maps"
	"mime"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Twilio returns a verifier for Twilio's X-Twilio-Signature.
//
// The header holds the base64 HMAC-SHA1, keyed with the account's auth token (a
// secret, used verbatim), of the public URL Twilio called followed by the request's
// form parameters sorted by name, each name then its value (a name given several times
// contributes each distinct value, sorted). publicURL is that URL exactly as configured
// in Twilio; the request's own URL and its X-Forwarded-* headers are never used, so the
// check holds behind any proxy or gateway. The URL with and without the scheme's
// default port is accepted, as Twilio's libraries accept it.
//
// A JSON body is signed differently: Twilio adds bodySHA256, the hex SHA-256 of the
// body, to the URL's query and signs the URL alone. Such a request is accepted when
// the signature of publicURL plus that parameter matches and the body's digest is the
// one given.
func Twilio(publicURL string, secrets []string) (Verifier, error) {
	const scheme = "twilio"
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fail(scheme, ErrInvalidConfig, "the public URL is not an absolute http or https URL")
	}
	keys, err := rawKeys(scheme, sha1.New, secrets)
	if err != nil {
		return nil, err
	}
	return &twilioVerifier{urls: twilioURLs(u), keys: keys}, nil
}

// twilioURLs returns the URL as configured, then without its default port, or with it.
func twilioURLs(u *url.URL) []string {
	urls := make([]string, 0, 2)
	urls = append(urls, u.String())
	def := "443"
	if u.Scheme == "http" {
		def = "80"
	}
	other := *u
	if host, port, err := net.SplitHostPort(u.Host); err == nil {
		if port != def {
			return urls
		}
		other.Host = host
		if strings.Contains(host, ":") {
			other.Host = "[" + host + "]"
		}
	} else {
		other.Host = net.JoinHostPort(u.Hostname(), def)
	}
	return append(urls, other.String())
}

type twilioVerifier struct {
	urls []string
	keys []*macKey
}

func (v *twilioVerifier) Verify(r *Request, _ time.Time) error {
	const scheme = "twilio"
	sig := r.header("X-Twilio-Signature")
	if sig == "" {
		return fail(scheme, ErrMissingSignature, "no X-Twilio-Signature header")
	}
	var want [sha1.Size]byte
	if !decodeBase64(want[:], sig) {
		return fail(scheme, ErrMalformedSignature, "X-Twilio-Signature is not the base64 of 20 bytes")
	}
	body := r.body()
	var signed string // what follows the URL
	suffix := ""
	if digest := r.query("bodySHA256"); digest != "" {
		sum := sha256.Sum256(body)
		got := make([]byte, hex.EncodedLen(len(sum)))
		hex.Encode(got, sum[:])
		if subtle.ConstantTimeCompare(got, []byte(strings.ToLower(digest))) != 1 {
			return fail(scheme, ErrSignatureMismatch, "the body's SHA-256 is not bodySHA256")
		}
		suffix = "bodySHA256=" + strings.ToLower(digest)
	} else if isFormRequest(r) {
		params, ok := twilioParams(body)
		if !ok {
			return fail(scheme, ErrMalformedSignature, "the form body cannot be read")
		}
		signed = params
	}
	for _, u := range v.urls {
		if suffix != "" {
			sep := "?"
			if strings.Contains(u, "?") {
				sep = "&"
			}
			u += sep + suffix
		}
		for _, k := range v.keys {
			s := k.get()
			s.h.Reset()
			s.writeString(u)
			s.writeString(signed)
			ok := hmac.Equal(s.h.Sum(s.sum[:0]), want[:])
			k.put(s)
			if ok {
				return nil
			}
		}
	}
	return fail(scheme, ErrSignatureMismatch, "X-Twilio-Signature matches no auth token")
}

// query returns the first value of a query parameter, or "".
func (r *Request) query(key string) string {
	if r == nil || r.Query == nil {
		return ""
	}
	return r.Query.Get(key)
}

// isFormRequest reports whether the request's body is a form.
func isFormRequest(r *Request) bool {
	mt, _, err := mime.ParseMediaType(r.header("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// twilioParams returns a form's parameters as Twilio signs them: sorted by name, each
// name followed by its value, a name given several times once per distinct value,
// in order.
func twilioParams(body []byte) (string, bool) {
	values := map[string][]string{}
	for pair := range strings.SplitSeq(string(body), "&") {
		if pair == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err1 := url.QueryUnescape(rawName)
		value, err2 := url.QueryUnescape(rawValue)
		if err1 != nil || err2 != nil {
			return "", false
		}
		values[name] = append(values[name], value)
	}
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(values)) {
		vs := values[name]
		slices.Sort(vs)
		for _, v := range slices.Compact(vs) {
			b.WriteString(name)
			b.WriteString(v)
		}
	}
	return b.String(), true
}
