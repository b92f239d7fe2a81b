package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"net/textproto"
	"strings"
	"time"
)

// Default tolerances, used when a constructor is given a zero tolerance.
const (
	// DefaultStripeTolerance is the tolerance of [Stripe], as in Stripe's libraries.
	DefaultStripeTolerance = 300 * time.Second
	// DefaultSvixTolerance is the tolerance of [Svix], [StandardWebhooks] and
	// a timestamped [HMAC], as in the Svix and Standard Webhooks libraries.
	DefaultSvixTolerance = 5 * time.Minute
	// DefaultWorkOSTolerance is the tolerance of [WorkOS], as in WorkOS's libraries.
	DefaultWorkOSTolerance = 180 * time.Second
)

// Stripe returns a verifier for Stripe webhooks.
//
// The Stripe-Signature header reads "t=<unix seconds>,v1=<hex>[,v1=<hex>…]".
// Each v1 is the hex HMAC-SHA256 of "{t}.{body}" keyed with the endpoint's
// signing secret, the whole "whsec_…" string used verbatim (it is not base64
// decoded). The request is accepted when any v1 matches any secret; v0 and
// unknown keys are ignored, and so is a v1 that is not 64 hex digits.
//
// tolerance bounds how far t may be from now, in both directions (Stripe's own
// libraries only reject old timestamps); zero means [DefaultStripeTolerance].
func Stripe(secrets []string, tolerance time.Duration) (Verifier, error) {
	return newTV1("stripe", "Stripe-Signature", false, secrets, tolerance, DefaultStripeTolerance)
}

// WorkOS returns a verifier for WorkOS webhooks.
//
// The WorkOS-Signature header reads "t=<unix milliseconds>, v1=<hex>". The v1
// is the hex HMAC-SHA256 of "{t}.{body}", with t exactly as sent, keyed with
// the webhook secret used verbatim. Whitespace around the items is ignored.
//
// tolerance bounds how far t may be from now, in both directions; zero means
// [DefaultWorkOSTolerance].
func WorkOS(secrets []string, tolerance time.Duration) (Verifier, error) {
	return newTV1("workos", "WorkOS-Signature", true, secrets, tolerance, DefaultWorkOSTolerance)
}

// tv1Verifier implements the "t=<timestamp>,v1=<hex>" family (Stripe, WorkOS).
type tv1Verifier struct {
	scheme    string
	header    string // as providers write it, for messages
	key       string // canonical form, for lookups without allocation
	millis    bool
	keys      []*macKey
	tolerance time.Duration
}

func newTV1(scheme, header string, millis bool, secrets []string, tolerance, def time.Duration) (Verifier, error) {
	tol, err := checkTolerance(scheme, tolerance, def)
	if err != nil {
		return nil, err
	}
	keys, err := rawKeys(scheme, sha256.New, secrets)
	if err != nil {
		return nil, err
	}
	return &tv1Verifier{scheme: scheme, header: header, key: textproto.CanonicalMIMEHeaderKey(header),
		millis: millis, keys: keys, tolerance: tol}, nil
}

func (v *tv1Verifier) Verify(r *Request, now time.Time) error {
	hv := r.header(v.key)
	if hv == "" {
		return fail(v.scheme, ErrMissingSignature, "no "+v.header+" header")
	}
	ts, err := v.parse(hv)
	if err != nil {
		return err
	}
	n, _ := parseDigits(ts) // validated by parse
	t := time.Unix(n, 0)
	if v.millis {
		t = time.UnixMilli(n)
	}
	if err := checkTimestamp(v.scheme, t, now, v.tolerance); err != nil {
		return err
	}
	body := r.body()
	for _, k := range v.keys {
		s := k.get()
		ok := matchTV1(hv, s.sumOf("", ts, body))
		k.put(s)
		if ok {
			return nil
		}
	}
	return fail(v.scheme, ErrSignatureMismatch, "no v1 signature matches")
}

// parse checks the header's shape and returns the timestamp exactly as sent.
// Every comma-separated item must be "key=value"; t must appear once, as
// decimal digits; at least one v1 must be well-formed hex of the right length.
func (v *tv1Verifier) parse(hv string) (string, error) {
	var (
		ts        string
		haveTS    bool
		validSigs int
		sig       [sha256.Size]byte
		item      string
		rest      = hv
	)
	for more := true; more; {
		item, rest, more = strings.Cut(rest, ",")
		key, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return "", fail(v.scheme, ErrMalformedSignature, v.header+" has an item without '='")
		}
		switch key {
		case "t":
			if haveTS {
				return "", fail(v.scheme, ErrMalformedSignature, v.header+" has more than one timestamp")
			}
			if _, ok := parseDigits(val); !ok {
				return "", fail(v.scheme, ErrMalformedSignature, v.header+" has an invalid timestamp")
			}
			ts, haveTS = val, true
		case "v1":
			if decodeHex(sig[:], val) {
				validSigs++
			}
		}
	}
	if !haveTS {
		return "", fail(v.scheme, ErrMalformedSignature, v.header+" has no timestamp")
	}
	if validSigs == 0 {
		return "", fail(v.scheme, ErrMalformedSignature, v.header+" has no well-formed v1 signature")
	}
	return ts, nil
}

// matchTV1 reports whether any well-formed v1 item of hv equals mac.
func matchTV1(hv string, mac []byte) bool {
	var sig [sha256.Size]byte
	for more := true; more; {
		var item string
		item, hv, more = strings.Cut(hv, ",")
		key, val, _ := strings.Cut(strings.TrimSpace(item), "=")
		if key == "v1" && decodeHex(sig[:], val) && hmac.Equal(sig[:], mac) {
			return true
		}
	}
	return false
}
