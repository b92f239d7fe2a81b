package verify

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"sync"
	"time"
)

// Static tokens are compared through their SHA-256 digests: comparing
// fixed-size digests with subtle.ConstantTimeCompare takes the same time
// whatever the received token's length or content, so timing reveals neither
// the configured token nor its length.

// tokenSet holds the digests of the accepted tokens.
type tokenSet [][sha256.Size]byte

// digestPool holds SHA-256 states with their scratch buffers, so hashing a
// received token does not allocate.
var digestPool = sync.Pool{New: func() any { return &macState{h: sha256.New()} }}

// digest returns the SHA-256 of str.
func digest(str string) [sha256.Size]byte {
	s := digestPool.Get().(*macState)
	s.h.Reset()
	s.writeString(str)
	var d [sha256.Size]byte
	copy(d[:], s.h.Sum(s.sum[:0]))
	digestPool.Put(s)
	return d
}

// digestBytes returns the SHA-256 of b.
func digestBytes(b []byte) [sha256.Size]byte {
	s := digestPool.Get().(*macState)
	s.h.Reset()
	for len(b) > 0 { // through the scratch buffer, so b does not escape
		n := copy(s.scratch[:], b)
		s.h.Write(s.scratch[:n])
		b = b[n:]
	}
	var d [sha256.Size]byte
	copy(d[:], s.h.Sum(s.sum[:0]))
	digestPool.Put(s)
	return d
}

func newTokenSet(scheme string, tokens []string) (tokenSet, error) {
	if len(tokens) == 0 {
		return nil, fail(scheme, ErrNoSecret, "no tokens configured")
	}
	set := make(tokenSet, 0, len(tokens))
	for i, t := range tokens {
		if t == "" {
			return nil, failf(scheme, ErrNoSecret, "tokens[%d] is empty", i)
		}
		set = append(set, sha256.Sum256([]byte(t)))
	}
	return set, nil
}

// match reports whether tok is one of the set. It compares against every
// entry, without stopping at the first match.
func (set tokenSet) match(tok string) bool {
	d := digest(tok)
	eq := 0
	for i := range set {
		eq |= subtle.ConstantTimeCompare(d[:], set[i][:])
	}
	return eq == 1
}

// cutScheme splits an Authorization value into its scheme, compared without
// regard to case, and its credentials.
func cutScheme(v, scheme string) (string, bool) {
	s, rest, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(s, scheme) {
		return "", false
	}
	rest = strings.TrimSpace(rest)
	return rest, rest != ""
}

// Bearer returns a verifier that accepts a request whose Authorization header
// is "Bearer <token>" with one of tokens (the scheme name is case-insensitive).
// Use it for senders that can send a static bearer token (Census, Hightouch,
// Jitsu, RudderStack's HTTP destination, ...). Tokens must not be empty.
func Bearer(tokens []string) (Verifier, error) {
	set, err := newTokenSet("bearer", tokens)
	if err != nil {
		return nil, err
	}
	return &bearerVerifier{tokens: set}, nil
}

type bearerVerifier struct{ tokens tokenSet }

func (v *bearerVerifier) Verify(r *Request, _ time.Time) error {
	hv := r.header("Authorization")
	if hv == "" {
		return fail("bearer", ErrMissingSignature, "no Authorization header")
	}
	tok, ok := cutScheme(hv, "Bearer")
	if !ok {
		return fail("bearer", ErrMalformedSignature, "Authorization is not a Bearer token")
	}
	if !v.tokens.match(tok) {
		return fail("bearer", ErrSignatureMismatch, "Bearer token does not match")
	}
	return nil
}

// Credential is one accepted user name and password for [Basic].
type Credential struct {
	// Username is the user name; it may be empty but must not contain ':'.
	Username string
	// Password is the password; it must not be empty.
	Password string
}

// Basic returns a verifier for HTTP Basic authentication (RFC 7617): the
// Authorization header is "Basic base64(username:password)" and must match one
// of creds. User name and password are both compared in constant time.
func Basic(creds []Credential) (Verifier, error) {
	const scheme = "basic"
	if len(creds) == 0 {
		return nil, fail(scheme, ErrNoSecret, "no credentials configured")
	}
	v := &basicVerifier{creds: make([]basicCred, 0, len(creds))}
	for i, c := range creds {
		if c.Password == "" {
			return nil, failf(scheme, ErrNoSecret, "creds[%d] has an empty password", i)
		}
		if strings.IndexByte(c.Username, ':') >= 0 {
			return nil, failf(scheme, ErrInvalidConfig, "creds[%d] has a username containing ':'", i)
		}
		v.creds = append(v.creds, basicCred{user: sha256.Sum256([]byte(c.Username)), pass: sha256.Sum256([]byte(c.Password))})
	}
	return v, nil
}

type basicCred struct{ user, pass [sha256.Size]byte }

type basicVerifier struct{ creds []basicCred }

func (v *basicVerifier) Verify(r *Request, _ time.Time) error {
	const scheme = "basic"
	hv := r.header("Authorization")
	if hv == "" {
		return fail(scheme, ErrMissingSignature, "no Authorization header")
	}
	enc, ok := cutScheme(hv, "Basic")
	if !ok {
		return fail(scheme, ErrMalformedSignature, "Authorization is not Basic credentials")
	}
	var buf [192]byte
	user, pass, err := decodeBasic(&buf, enc)
	if err != nil {
		return err
	}
	du, dp := digestBytes(user), digestBytes(pass)
	eq := 0
	for i := range v.creds {
		eq |= subtle.ConstantTimeCompare(du[:], v.creds[i].user[:]) & subtle.ConstantTimeCompare(dp[:], v.creds[i].pass[:])
	}
	if eq != 1 {
		return fail(scheme, ErrSignatureMismatch, "Basic credentials do not match")
	}
	return nil
}

// decodeBasic decodes "base64(user:pass)", into buf when it fits, so that
// usual credentials are decoded without allocation.
func decodeBasic(buf *[192]byte, enc string) (user, pass []byte, err error) {
	var src [256]byte
	var dec []byte
	if len(enc) <= len(src) {
		n, derr := base64.StdEncoding.Decode(buf[:], src[:copy(src[:], enc)])
		dec, err = buf[:n], derr
	} else {
		dec, err = base64.StdEncoding.DecodeString(enc)
	}
	if err != nil {
		return nil, nil, fail("basic", ErrMalformedSignature, "Basic credentials are not valid base64")
	}
	user, pass, ok := bytes.Cut(dec, []byte{':'})
	if !ok {
		return nil, nil, fail("basic", ErrMalformedSignature, "Basic credentials have no ':'")
	}
	return user, pass, nil
}

// HeaderToken returns a verifier that accepts a request whose header (for
// example "X-Webhook-Secret") holds exactly one of tokens, surrounding
// whitespace aside. Use it for senders that can add a static custom header,
// such as Supabase database webhooks or PostHog's HTTP webhook. Tokens must not
// be empty.
func HeaderToken(header string, tokens []string) (Verifier, error) {
	const scheme = "headertoken"
	name, err := canonicalHeader(scheme, "header", header)
	if err != nil {
		return nil, err
	}
	set, err := newTokenSet(scheme, tokens)
	if err != nil {
		return nil, err
	}
	return &headerTokenVerifier{header: name, tokens: set}, nil
}

type headerTokenVerifier struct {
	header string
	tokens tokenSet
}

func (v *headerTokenVerifier) Verify(r *Request, _ time.Time) error {
	hv := r.header(v.header)
	if hv == "" {
		return fail("headertoken", ErrMissingSignature, "no "+v.header+" header")
	}
	if !v.tokens.match(hv) {
		return fail("headertoken", ErrSignatureMismatch, v.header+" does not match")
	}
	return nil
}

// QueryToken returns a verifier that accepts a request whose query parameter
// param holds exactly one of tokens, as Census's "secret query parameter"
// option sends. Query strings end up in access logs and proxies more often
// than headers, so prefer [Bearer] or [HeaderToken] where the sender allows.
// Tokens must not be empty.
func QueryToken(param string, tokens []string) (Verifier, error) {
	const scheme = "querytoken"
	if param == "" {
		return nil, fail(scheme, ErrInvalidConfig, "param is required")
	}
	set, err := newTokenSet(scheme, tokens)
	if err != nil {
		return nil, err
	}
	return &queryTokenVerifier{param: param, tokens: set}, nil
}

type queryTokenVerifier struct {
	param  string
	tokens tokenSet
}

func (v *queryTokenVerifier) Verify(r *Request, _ time.Time) error {
	var tok string
	if r != nil {
		tok = r.Query.Get(v.param)
	}
	if tok == "" {
		return failf("querytoken", ErrMissingSignature, "no %q query parameter", v.param)
	}
	if !v.tokens.match(tok) {
		return failf("querytoken", ErrSignatureMismatch, "%q query parameter does not match", v.param)
	}
	return nil
}
