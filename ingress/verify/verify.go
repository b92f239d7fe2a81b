package verify

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Request is what a verifier sees: the raw body exactly as received, the
// headers and the query.
//
// Header keys are expected in canonical form, as net/http produces them; the
// verifiers look them up with [http.Header.Get].
type Request struct {
	// Header holds the request headers.
	Header http.Header
	// Query holds the parsed URL query; only [QueryToken] reads it.
	Query url.Values
	// Body is the raw request body, exactly as received. Verify it before
	// parsing: a re-serialised body does not match its signature.
	Body []byte
}

// header returns the first value of the header key with surrounding
// whitespace removed, or "" when the request or header is absent.
func (r *Request) header(key string) string {
	if r == nil {
		return ""
	}
	return strings.TrimSpace(r.Header.Get(key))
}

// body returns the request body, or nil when r is nil.
func (r *Request) body() []byte {
	if r == nil {
		return nil
	}
	return r.Body
}

// Verifier checks one request. Verify returns nil only when the request is
// authentic; any other result must be answered with HTTP 401.
//
// now is the time the request was received; schemes with a timestamp compare
// against it. Verifiers are safe for concurrent use.
type Verifier interface {
	Verify(r *Request, now time.Time) error
}

// Sentinel errors. Every error returned by this package wraps exactly one of
// them; check with [errors.Is] and label with [Reason].
var (
	// ErrMissingSignature means the request carries no signature, token or
	// credentials, or lacks a header the scheme requires (such as the message
	// id or timestamp).
	ErrMissingSignature = errors.New("missing signature")
	// ErrMalformedSignature means the signature header is present but cannot be
	// parsed, its timestamp or id is invalid, or it carries no signature in a
	// version or encoding this verifier accepts.
	ErrMalformedSignature = errors.New("malformed signature")
	// ErrTimestampOutOfTolerance means the signed timestamp is too far from
	// now: too old (a possible replay) or too far in the future ([Reason]
	// tells the two apart).
	ErrTimestampOutOfTolerance = errors.New("timestamp outside tolerance")
	// ErrSignatureMismatch means no signature, token or credential in the
	// request matches any configured secret.
	ErrSignatureMismatch = errors.New("signature mismatch")
	// ErrNoSecret means no usable secret or key is configured. Constructors
	// return it; a Verifier built with [All] and no verifiers returns it from
	// Verify.
	ErrNoSecret = errors.New("no secret configured")
	// ErrInvalidConfig means a constructor was given an invalid configuration,
	// such as an unknown algorithm, a negative tolerance or a secret that is
	// not valid base64.
	ErrInvalidConfig = errors.New("invalid verifier configuration")
)

// keyError is a configuration problem with a key; its text never contains
// key material.
type keyError string

func (e keyError) Error() string { return string(e) }

// errFutureTimestamp marks a timestamp that is too far in the future. It
// matches [ErrTimestampOutOfTolerance] with errors.Is, and lets [Reason]
// tell clock skew apart from replays.
var errFutureTimestamp error = futureTimestampError{}

type futureTimestampError struct{}

func (futureTimestampError) Error() string        { return ErrTimestampOutOfTolerance.Error() }
func (futureTimestampError) Is(target error) bool { return target == ErrTimestampOutOfTolerance }

// Reasons returned by [Reason]. They are stable and suitable as metric labels.
const (
	// ReasonOK is the reason for a nil error.
	ReasonOK = "ok"
	// ReasonMissingSignature is the reason for [ErrMissingSignature].
	ReasonMissingSignature = "missing_signature"
	// ReasonMalformedSignature is the reason for [ErrMalformedSignature].
	ReasonMalformedSignature = "malformed_signature"
	// ReasonStaleTimestamp is the reason for a timestamp that is too old.
	ReasonStaleTimestamp = "stale_timestamp"
	// ReasonFutureTimestamp is the reason for a timestamp too far in the future.
	ReasonFutureTimestamp = "future_timestamp"
	// ReasonMismatch is the reason for [ErrSignatureMismatch].
	ReasonMismatch = "mismatch"
	// ReasonNoSecret is the reason for [ErrNoSecret].
	ReasonNoSecret = "no_secret"
	// ReasonInvalidConfig is the reason for [ErrInvalidConfig].
	ReasonInvalidConfig = "invalid_config"
	// ReasonUnknown is the reason for an error that wraps none of the sentinels.
	ReasonUnknown = "error"
)

// Reason returns a short, stable, machine-readable reason for err, for
// metrics and logs: "ok" for nil, then "missing_signature",
// "malformed_signature", "stale_timestamp", "future_timestamp", "mismatch",
// "no_secret", "invalid_config", or "error" for an error from outside this
// package. See the Reason* constants.
func Reason(err error) string {
	switch {
	case err == nil:
		return ReasonOK
	case errors.Is(err, ErrMissingSignature):
		return ReasonMissingSignature
	case errors.Is(err, ErrMalformedSignature):
		return ReasonMalformedSignature
	case errors.Is(err, errFutureTimestamp):
		return ReasonFutureTimestamp
	case errors.Is(err, ErrTimestampOutOfTolerance):
		return ReasonStaleTimestamp
	case errors.Is(err, ErrSignatureMismatch):
		return ReasonMismatch
	case errors.Is(err, ErrNoSecret):
		return ReasonNoSecret
	case errors.Is(err, ErrInvalidConfig):
		return ReasonInvalidConfig
	default:
		return ReasonUnknown
	}
}

// verifyError is a sentinel with the scheme and a detail that never contains
// secret material.
type verifyError struct {
	scheme string
	kind   error
	detail string
}

func (e *verifyError) Error() string {
	if e.detail == "" {
		return e.scheme + ": " + e.kind.Error()
	}
	return e.scheme + ": " + e.kind.Error() + ": " + e.detail
}

func (e *verifyError) Unwrap() error { return e.kind }

// fail returns an error of kind for scheme. detail must not contain secrets,
// tokens or signature values.
func fail(scheme string, kind error, detail string) error {
	return &verifyError{scheme: scheme, kind: kind, detail: detail}
}

// failf is fail with a formatted detail.
func failf(scheme string, kind error, format string, args ...any) error {
	return &verifyError{scheme: scheme, kind: kind, detail: fmt.Sprintf(format, args...)}
}

// checkTolerance validates a configured tolerance and applies the default.
func checkTolerance(scheme string, tolerance, def time.Duration) (time.Duration, error) {
	switch {
	case tolerance < 0:
		return 0, failf(scheme, ErrInvalidConfig, "tolerance %s is negative", tolerance)
	case tolerance == 0:
		return def, nil
	default:
		return tolerance, nil
	}
}

// checkTimestamp accepts ts only when it is less than tolerance away from now,
// in either direction.
func checkTimestamp(scheme string, ts, now time.Time, tolerance time.Duration) error {
	age := now.Sub(ts) // saturates instead of overflowing
	switch {
	case age >= tolerance:
		return failf(scheme, ErrTimestampOutOfTolerance, "timestamp is %s old, tolerance is %s", age.Truncate(time.Second), tolerance)
	case age <= -tolerance:
		return failf(scheme, errFutureTimestamp, "timestamp is %s in the future, tolerance is %s", (-age).Truncate(time.Second), tolerance)
	}
	return nil
}

// parseDigits parses a non-negative decimal integer written with ASCII digits
// only: no sign, no spaces, no leading zeros (except "0" itself), at most 18
// digits. Being strict makes "the timestamp as sent" and "the timestamp
// re-formatted" the same bytes, so every library computes the same signature.
func parseDigits(s string) (int64, bool) {
	if s == "" || len(s) > 18 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// canonicalHeader validates a configured header name and returns its
// canonical form.
func canonicalHeader(scheme, field, name string) (string, error) {
	if name == "" {
		return "", failf(scheme, ErrInvalidConfig, "%s is required", field)
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return "", failf(scheme, ErrInvalidConfig, "%s %q is not a valid HTTP header name", field, name)
		}
	}
	return textproto.CanonicalMIMEHeaderKey(name), nil
}

// isTokenChar reports whether c may appear in an HTTP header name (RFC 9110 tchar).
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// None returns a verifier that accepts every request.
//
// It is an explicit opt-out for senders that cannot authenticate at all
// (Supabase database webhooks, PostHog, RudderStack, ...). The only protection
// left is the endpoint's unguessable URL, which leaks through logs, proxies and
// browser history; prefer adding a [HeaderToken] or [Bearer] token where the
// sender allows custom headers.
func None() Verifier { return noneVerifier{} }

type noneVerifier struct{}

func (noneVerifier) Verify(*Request, time.Time) error { return nil }

// All returns a verifier that accepts a request only when every one of vs
// accepts it. It returns the first failure, in the order given. With no
// verifiers, or with a nil one, Verify fails with [ErrNoSecret]: All never
// accepts by default.
func All(vs ...Verifier) Verifier { return allVerifier(slices.Clone(vs)) }

type allVerifier []Verifier

func (a allVerifier) Verify(r *Request, now time.Time) error {
	if len(a) == 0 {
		return fail("all", ErrNoSecret, "no verifiers configured")
	}
	for i, v := range a {
		if v == nil {
			return failf("all", ErrNoSecret, "verifier %d is nil", i)
		}
		if err := v.Verify(r, now); err != nil {
			return err
		}
	}
	return nil
}
