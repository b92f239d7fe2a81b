package provider

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/verify"
)

// Handshakes: the requests a sender makes to check that an endpoint is its
// subscriber's own before (and, for some, while) it sends events to it. Slack's
// url_verification, Meta's hub.challenge, Microsoft Graph's validationToken, Zoom's
// endpoint.url_validation, Okta's verification challenge, and any other described in
// CEL (docs/sources/handshakes.md).
//
// A handshake is an optional capability of a source type. A built-in provider whose
// sender always makes one (Slack) registers it with registerHandshake; an http Source
// says which one it answers in spec.http.handshake. Compile builds it with the rest of
// the Source, once per configuration snapshot, and the edge asks it about each request
// before the data path: a genuine handshake is answered and creates no event, a
// handshake that is not genuine is refused 401, and anything else goes on as an event.

// Handshake answers one SourceEnvironment's endpoint handshake.
type Handshake interface {
	// Type names the handshake for metrics and logs: slack, meta, microsoftGraph, zoom,
	// okta or cel.
	Type() string

	// Admits reports whether a request with method, other than POST, may be a
	// handshake: the edge lets it through to Answer instead of refusing it 405.
	Admits(method string) bool

	// Answer looks at one request that passed the endpoint's admission (endpoint
	// token, rate limit, body limit). It returns:
	//
	//   - nil, nil when the request is no handshake: it goes on as an event (or is
	//     refused 405 when it is not a POST);
	//   - an answer when it is a genuine handshake: nothing else is done with it;
	//   - an error when it is a handshake that is not genuine (wrapping one of package
	//     verify's errors: 401) or not well formed (wrapping ErrMalformedHandshake:
	//     400). The error never holds a secret or a token.
	Answer(ctx context.Context, r *HandshakeRequest) (*HandshakeAnswer, error)
}

// HandshakeRequest is what a Handshake reads of a request.
type HandshakeRequest struct {
	// Method is the HTTP method.
	Method string
	// Header are the request's headers (canonical names).
	Header http.Header
	// Query are the URL's query parameters.
	Query url.Values
	// Body is the raw body, as received.
	Body []byte
	// Received is when the request arrived; signed timestamps are checked against it.
	Received time.Time
}

// HandshakeAnswer is the answer to a genuine handshake.
type HandshakeAnswer struct {
	// Status is the HTTP status, 2xx.
	Status int
	// Header are the answer's headers; Content-Type among them when there is a body.
	Header http.Header
	// Body is the answer's body.
	Body []byte
}

// ErrMalformedHandshake is wrapped by the error of a handshake request that is not well
// formed: a challenge that is missing, too long or not text.
var ErrMalformedHandshake = errors.New("malformed handshake")

// maxChallenge bounds a challenge or token echoed back, in bytes: every sender's is far
// shorter (Meta's is a number, Graph's about 100 characters, Zoom's 22).
const maxChallenge = 1024

// handshakeBuilder builds the handshake of a SourceEnvironment from its configuration
// and the Source's compiled verifier.
type handshakeBuilder func(c Config, compiled Compiled) (Handshake, error)

// builtinHandshakes are the handshakes of the source types whose sender always makes
// one, registered by their files.
var builtinHandshakes = map[v1alpha1.SourceType]handshakeBuilder{}

// registerHandshake adds the handshake of a built-in source type; its file calls it in
// init.
func registerHandshake(t v1alpha1.SourceType, b handshakeBuilder) {
	if _, dup := builtinHandshakes[t]; dup {
		panic(fmt.Sprintf("handshake of %q registered twice", t))
	}
	builtinHandshakes[t] = b
}

// compileHandshake builds a SourceEnvironment's handshake: its source type's own, or
// the one its http Source configures; nil when it has none.
func compileHandshake(c Config, compiled Compiled) (Handshake, error) {
	spec := &c.Source.Spec
	if b, ok := builtinHandshakes[spec.Type]; ok {
		return b(c, compiled)
	}
	if spec.Type != v1alpha1.SourceTypeHTTP || spec.HTTP == nil || spec.HTTP.Handshake == nil {
		return nil, nil
	}
	hs := spec.HTTP.Handshake
	if hs.Type != v1alpha1.HandshakeCEL { // a cel handshake is checked as it is compiled
		if err := checkHandshake(spec); err != nil {
			return nil, err
		}
	}
	switch hs.Type {
	case v1alpha1.HandshakeMeta:
		return metaHandshake(hs.Meta, c.Vars)
	case v1alpha1.HandshakeMicrosoftGraph:
		return graphHandshake(), nil
	case v1alpha1.HandshakeZoom:
		return zoomHandshake(c.Secrets)
	case v1alpha1.HandshakeOkta:
		return oktaHandshake(compiled.Verifier), nil
	case v1alpha1.HandshakeCEL:
		return celHandshake(hs.CEL, compiled.Verifier, c.Vars)
	}
	return nil, fmt.Errorf("spec.http.handshake.type: unknown handshake %q", truncate(string(hs.Type), 64))
}

// checkHandshake checks an http Source's handshake as compileHandshake will, without
// secrets. The error names the field.
func checkHandshake(spec *v1alpha1.SourceSpec) error {
	if spec.Type != v1alpha1.SourceTypeHTTP || spec.HTTP == nil || spec.HTTP.Handshake == nil {
		return nil
	}
	hs := spec.HTTP.Handshake
	switch hs.Type {
	case v1alpha1.HandshakeMeta:
		if hs.Meta == nil || hs.Meta.VerifyTokenVariable == "" {
			return errors.New("spec.http.handshake.meta.verifyTokenVariable is required for a meta handshake")
		}
	case v1alpha1.HandshakeMicrosoftGraph, v1alpha1.HandshakeZoom:
	case v1alpha1.HandshakeOkta:
		switch spec.HTTP.Verification.Type {
		case v1alpha1.VerificationHeaderToken, v1alpha1.VerificationBearer, v1alpha1.VerificationBasic:
		default:
			return fmt.Errorf("spec.http.handshake: an okta handshake is answered only with Okta's authorization header, "+
				"so spec.http.verification must check it (headerToken, bearer or basic), not %s", spec.HTTP.Verification.Type)
		}
	case v1alpha1.HandshakeCEL:
		if hs.CEL == nil {
			return errors.New("spec.http.handshake.cel is required for a cel handshake")
		}
		_, err := compileCELHandshake(hs.CEL)
		return err
	default:
		return fmt.Errorf("spec.http.handshake.type: unknown handshake %q", truncate(string(hs.Type), 64))
	}
	return nil
}

// handshakeFunc is a Handshake made of its parts.
type handshakeFunc struct {
	typ     string
	methods []string
	answer  func(ctx context.Context, r *HandshakeRequest) (*HandshakeAnswer, error)
}

func (h *handshakeFunc) Type() string { return h.typ }

func (h *handshakeFunc) Admits(method string) bool { return slices.Contains(h.methods, method) }

func (h *handshakeFunc) Answer(ctx context.Context, r *HandshakeRequest) (*HandshakeAnswer, error) {
	return h.answer(ctx, r)
}

// malformedHandshake returns an error wrapping ErrMalformedHandshake.
func malformedHandshake(typ, format string, args ...any) error {
	return fmt.Errorf("%s handshake: %w: %s", typ, ErrMalformedHandshake, fmt.Sprintf(format, args...))
}

// challenge checks a challenge or token to be echoed: present, at most maxChallenge
// bytes, UTF-8 text without control characters.
func challenge(typ, name, v string) (string, error) {
	switch {
	case v == "":
		return "", malformedHandshake(typ, "%s is missing", name)
	case len(v) > maxChallenge:
		return "", malformedHandshake(typ, "%s is longer than %d bytes", name, maxChallenge)
	case !utf8.ValidString(v):
		return "", malformedHandshake(typ, "%s is not UTF-8 text", name)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return "", malformedHandshake(typ, "%s holds a control character", name)
		}
	}
	return v, nil
}

// textAnswer answers 200 with s as text/plain, HTML-escaped so that no browser can be
// made to run what a sender asked to be echoed (every sender's challenge is unchanged by
// the escaping).
func textAnswer(s string) *HandshakeAnswer {
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	return &HandshakeAnswer{Status: http.StatusOK, Header: h, Body: []byte(html.EscapeString(s))}
}

// jsonAnswer answers 200 with v as JSON.
func jsonAnswer(v any) (*HandshakeAnswer, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &HandshakeAnswer{Status: http.StatusOK, Header: h, Body: data}, nil
}

// tokenEqual compares a token in constant time, over digests so that the time taken
// reveals neither the token nor its length. An empty want matches nothing.
func tokenEqual(got, want string) bool {
	if want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// verifyWith runs a Source's verifier over a handshake request.
func verifyWith(v verify.Verifier, r *HandshakeRequest) error {
	if v == nil {
		return fmt.Errorf("handshake: %w", verify.ErrNoSecret)
	}
	return v.Verify(&verify.Request{Header: r.Header, Query: r.Query, Body: r.Body}, r.Received)
}

// metaHandshake answers Meta's verification request (Facebook, Instagram, WhatsApp):
//
//	GET ?hub.mode=subscribe&hub.verify_token=<token>&hub.challenge=<challenge>
//
// with the challenge as text/plain, when the verify token equals the SourceEnvironment
// variable spec.http.handshake.meta.verifyTokenVariable names (compared in constant
// time). A GET without hub.mode is no handshake.
func metaHandshake(cfg *v1alpha1.MetaHandshake, vars map[string]string) (Handshake, error) {
	if cfg == nil || cfg.VerifyTokenVariable == "" {
		return nil, errors.New("spec.http.handshake.meta.verifyTokenVariable is required for a meta handshake")
	}
	want := vars[cfg.VerifyTokenVariable]
	if want == "" {
		return nil, fmt.Errorf("variables: the meta handshake's verify token, variable %q, is not set or empty", cfg.VerifyTokenVariable)
	}
	const typ = "meta"
	get := []string{http.MethodGet}
	return &handshakeFunc{typ: typ, methods: get, answer: func(_ context.Context, r *HandshakeRequest) (*HandshakeAnswer, error) {
		if r.Method != http.MethodGet || !r.Query.Has("hub.mode") {
			return nil, nil
		}
		if mode := r.Query.Get("hub.mode"); mode != "subscribe" {
			return nil, malformedHandshake(typ, "hub.mode is %q, not subscribe", truncate(mode, 32))
		}
		token := r.Query.Get("hub.verify_token")
		if token == "" {
			return nil, fmt.Errorf("meta handshake: hub.verify_token: %w", verify.ErrMissingSignature)
		}
		if !tokenEqual(token, want) {
			return nil, fmt.Errorf("meta handshake: hub.verify_token: %w", verify.ErrSignatureMismatch)
		}
		c, err := challenge(typ, "hub.challenge", r.Query.Get("hub.challenge"))
		if err != nil {
			return nil, err
		}
		return textAnswer(c), nil
	}}, nil
}

// graphHandshake answers Microsoft Graph's subscription validation:
//
//	POST ?validationToken=<token>
//
// with the token as text/plain (HTML-escaped). Graph's validation carries no secret:
// what makes it genuine is the endpoint it reached (docs/sources/handshakes.md).
func graphHandshake() Handshake {
	const typ = "microsoftGraph"
	return &handshakeFunc{typ: typ, answer: func(_ context.Context, r *HandshakeRequest) (*HandshakeAnswer, error) {
		if r.Method != http.MethodPost || !r.Query.Has("validationToken") {
			return nil, nil
		}
		c, err := challenge(typ, "validationToken", r.Query.Get("validationToken"))
		if err != nil {
			return nil, err
		}
		return textAnswer(c), nil
	}}
}

// oktaHandshake answers Okta's one-time event hook verification:
//
//	GET with X-Okta-Verification-Challenge: <value>
//
// with {"verification": "<value>"}, when the request passes the Source's verification:
// Okta sends the hook's authorization header with it, as with every event.
func oktaHandshake(v verify.Verifier) Handshake {
	const typ = "okta"
	get := []string{http.MethodGet}
	return &handshakeFunc{typ: typ, methods: get, answer: func(_ context.Context, r *HandshakeRequest) (*HandshakeAnswer, error) {
		values := r.Header.Values("X-Okta-Verification-Challenge")
		if r.Method != http.MethodGet || len(values) == 0 {
			return nil, nil
		}
		if err := verifyWith(v, r); err != nil {
			return nil, fmt.Errorf("okta handshake: %w", err)
		}
		c, err := challenge(typ, "X-Okta-Verification-Challenge", values[0])
		if err != nil {
			return nil, err
		}
		return jsonAnswer(map[string]string{"verification": c})
	}}
}
