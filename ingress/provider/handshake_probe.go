package provider

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"inlet.dev/inlet/api/v1alpha1"
)

// HandshakeProbe is an endpoint handshake as its sender makes it, for `inlet send
// --handshake` and tests: the request, and the check the sender applies to the answer.
type HandshakeProbe struct {
	// Type is the handshake's type: slack, meta, microsoftGraph, zoom or okta.
	Type string
	// Method, Query, Header and Body are the request.
	Method string
	Query  url.Values
	Header http.Header
	Body   []byte
	// Check returns nil when an answer is the one the sender expects.
	Check func(status int, body []byte) error
}

// ErrNoHandshake is returned by NewHandshakeProbe for a Source with no handshake, or
// one (cel) whose request inlet cannot know.
var ErrNoHandshake = errors.New("no handshake inlet knows how to send")

// NewHandshakeProbe returns the handshake a Source's sender makes at t, with secret
// (the SourceEnvironment's first signing secret) and vars (its variables) as the sender
// knows them, and a fresh random challenge.
func NewHandshakeProbe(spec *v1alpha1.SourceSpec, secret string, vars map[string]string, t time.Time) (*HandshakeProbe, error) {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	challenge := base64.RawURLEncoding.EncodeToString(nonce[:])
	typ := ""
	switch {
	case spec.Type == v1alpha1.SourceTypeSlack:
		typ = "slack"
	case spec.Type == v1alpha1.SourceTypeHTTP && spec.HTTP != nil && spec.HTTP.Handshake != nil:
		typ = string(spec.HTTP.Handshake.Type)
	}
	p := &HandshakeProbe{Type: typ, Method: http.MethodPost, Query: url.Values{}, Header: http.Header{}}
	echo := func(status int, body []byte) error {
		if status != http.StatusOK || string(body) != challenge {
			return fmt.Errorf("%s expects 200 with the challenge echoed", typ)
		}
		return nil
	}
	field := func(name, want string) func(int, []byte) error {
		return func(status int, body []byte) error {
			var got map[string]string
			if status != http.StatusOK || json.Unmarshal(body, &got) != nil || got[name] != want {
				return fmt.Errorf("%s expects 200 with {%q: %q}", typ, name, want)
			}
			return nil
		}
	}
	switch v1alpha1.HandshakeType(typ) {
	case "slack":
		p.Body, _ = json.Marshal(map[string]string{"token": "inlet-send", "challenge": challenge, "type": "url_verification"})
		h, err := Sign(spec, secret, t, p.Body)
		if err != nil {
			return nil, err
		}
		p.Header, p.Check = h, field("challenge", challenge)
	case v1alpha1.HandshakeMeta:
		token := vars[spec.HTTP.Handshake.Meta.VerifyTokenVariable]
		p.Method, p.Check = http.MethodGet, echo
		p.Query = url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {token}, "hub.challenge": {challenge}}
	case v1alpha1.HandshakeMicrosoftGraph:
		p.Query.Set("validationToken", challenge)
		p.Header.Set("Content-Type", "text/plain; charset=utf-8")
		p.Check = echo
	case v1alpha1.HandshakeZoom:
		p.Body, _ = json.Marshal(map[string]any{"event": "endpoint.url_validation", "event_ts": t.UnixMilli(),
			"payload": map[string]string{"plainToken": challenge}})
		p.Header.Set("Content-Type", "application/json")
		p.Header.Set("X-Zm-Request-Timestamp", strconv.FormatInt(t.Unix(), 10))
		p.Header.Set("X-Zm-Signature", ZoomSignature(secret, t, p.Body))
		want := ZoomEncryptedToken(secret, challenge)
		p.Check = func(status int, body []byte) error {
			var got map[string]string
			if status != http.StatusOK || json.Unmarshal(body, &got) != nil || got["plainToken"] != challenge || got["encryptedToken"] != want {
				return errors.New("zoom expects 200 with the plainToken and its encryptedToken, keyed with the secret token")
			}
			return nil
		}
	case v1alpha1.HandshakeOkta:
		h, err := Sign(spec, secret, t, nil) // the authorization header Okta sends with every request
		if err != nil {
			return nil, err
		}
		h.Del("Content-Type")
		h.Set("X-Okta-Verification-Challenge", challenge)
		p.Method, p.Header, p.Check = http.MethodGet, h, field("verification", challenge)
	case v1alpha1.HandshakeCEL:
		return nil, fmt.Errorf("%w: a cel handshake is sent as its sender sends it (curl)", ErrNoHandshake)
	default:
		return nil, fmt.Errorf("%w: a %s Source answers no handshake", ErrNoHandshake, spec.Type)
	}
	return p, nil
}
