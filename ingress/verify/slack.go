package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"time"
)

// DefaultSlackTolerance is the tolerance of [Slack], as in Slack's own SDKs (5 minutes).
const DefaultSlackTolerance = 5 * time.Minute

// Slack returns a verifier for Slack's signed requests (Events API, interactivity,
// slash commands).
//
// X-Slack-Request-Timestamp holds the unix time in seconds and X-Slack-Signature reads
// "v0=<hex>": the HMAC-SHA256 of "v0:{timestamp}:{body}", keyed with the app's signing
// secret used verbatim. The timestamp must be less than tolerance away from now, in
// both directions; zero means [DefaultSlackTolerance].
func Slack(secrets []string, tolerance time.Duration) (Verifier, error) {
	const scheme = "slack"
	tol, err := checkTolerance(scheme, tolerance, DefaultSlackTolerance)
	if err != nil {
		return nil, err
	}
	keys, err := rawKeys(scheme, sha256.New, secrets)
	if err != nil {
		return nil, err
	}
	return &slackVerifier{keys: keys, tolerance: tol}, nil
}

type slackVerifier struct {
	keys      []*macKey
	tolerance time.Duration
}

func (v *slackVerifier) Verify(r *Request, now time.Time) error {
	const scheme = "slack"
	sig := r.header("X-Slack-Signature")
	if sig == "" {
		return fail(scheme, ErrMissingSignature, "no X-Slack-Signature header")
	}
	ts := r.header("X-Slack-Request-Timestamp")
	if ts == "" {
		return fail(scheme, ErrMissingSignature, "no X-Slack-Request-Timestamp header")
	}
	n, ok := parseDigits(ts)
	if !ok {
		return fail(scheme, ErrMalformedSignature, "X-Slack-Request-Timestamp is not a unix time in seconds")
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	var want [sha256.Size]byte
	if !ok || !decodeHex(want[:], hexSig) {
		return fail(scheme, ErrMalformedSignature, `X-Slack-Signature is not "v0=" and 64 hex digits`)
	}
	if err := checkTimestamp(scheme, time.Unix(n, 0), now, v.tolerance); err != nil {
		return err
	}
	body := r.body()
	for _, k := range v.keys {
		s := k.get()
		s.h.Reset()
		s.writeString("v0:")
		s.writeString(ts)
		s.writeString(":")
		s.h.Write(body)
		ok := hmac.Equal(s.h.Sum(s.sum[:0]), want[:])
		k.put(s)
		if ok {
			return nil
		}
	}
	return fail(scheme, ErrSignatureMismatch, "X-Slack-Signature matches no signing secret")
}
