// Package provider is the registry of source types: one file per provider says
// everything inlet knows about its sender. For each type it says
//
//   - whether the sender signs its requests itself (if not, the endpoint carries an
//     unguessable token, and the Source may add a header token, spec.headerAuth);
//   - how a request is verified, with which headers, and the default tolerance of a
//     signed timestamp;
//   - how a payload is typed: its event type, idempotency key, user id and data;
//   - how the sender signs, so that `inlet send` and tests send authentic requests;
//   - optionally, the endpoint handshake its sender makes (handshake.go).
//
// The rules every provider shares live once: what an id and an idempotency key are
// ([events.ID], [events.Key]), reading them from a body field or a header (fields.go),
// and the header token of the sources that sign nothing (headerauth.go).
//
// The data path looks a SourceEnvironment's provider up once per configuration
// snapshot ([Compile]); each request then goes through the compiled verifier and
// [Describer], without a lookup and without allocating for the provider.
//
// # Adding a provider
//
// A new source type is one file in this package (see stripe.go for a signing sender,
// posthog.go for one that signs nothing) that registers a provider in init, plus:
//
//   - its name in the SourceType enum of api/v1alpha1/source_types.go (the CRD's
//     schema) and, for a sender that signs, in the headerAuth rule there, which
//     TestRegistryMatchesAPI checks;
//   - the payload fields its describe reads and where its data comes from (builtin's
//     reads and data), so that the ingress decodes no more of a body than is read:
//     TestReadsAgree checks them against describing the whole payload;
//   - at least one sample payload, config/samples/events/<type>/<event type>.json,
//     which TestSamples signs, verifies and describes;
//   - its page, docs/sources/<type>.md, and its row in docs/sources/README.md.
package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/cel"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/events"
	"inlet.dev/inlet/ingress/verify"
)

// Provider is one source type.
type Provider interface {
	// Type is the Source's spec.type the provider serves.
	Type() v1alpha1.SourceType

	// Signs reports whether the sender of a Source with this spec signs (or
	// authenticates) each request by a scheme of its own. A Source whose sender does not
	// is reached only through an endpoint with an unguessable token.
	Signs(spec *v1alpha1.SourceSpec) bool

	// SignatureHeaders are the canonical names of the headers verification reads a
	// signature, a token or credentials from; the event log never stores them.
	SignatureHeaders(spec *v1alpha1.SourceSpec) []string

	// Compile builds what serving one SourceEnvironment of the Source needs: the
	// verifier of its signing secrets and the describer of its events.
	Compile(c Config) (Compiled, error)

	// Check checks a Source's spec as Compile will, without secrets: what the operator
	// reports on the Source. The error names the field.
	Check(spec *v1alpha1.SourceSpec) error

	// Sign sets the headers the sender sets to sign body with secret at t.
	Sign(h http.Header, spec *v1alpha1.SourceSpec, secret string, t time.Time, body []byte) error
}

// Config is what Compile builds from.
type Config struct {
	// Source is the Source served.
	Source *v1alpha1.Source
	// Secrets are the SourceEnvironment's signing secrets, every one accepted.
	Secrets []string
	// Vars are the SourceEnvironment's variables, for CEL (secret values among them).
	Vars map[string]string
	// CEL is the environment CEL expressions are compiled in.
	CEL *cel.Env
}

// Compiled is a Source compiled for one SourceEnvironment.
type Compiled struct {
	// Verifier checks a request's authenticity.
	Verifier verify.Verifier
	// Describer types the request's events.
	Describer Describer
	// Handshake answers the sender's endpoint handshake; nil when there is none
	// (handshake.go).
	Handshake Handshake
}

// Describer finds one payload's event type, idempotency key, user id and data.
type Describer interface {
	// Describe reads one payload of a verified request. A payload without a usable event
	// type is refused with a *events.DecodeError of reason events.ReasonNoEventType, or
	// with an error saying why its expression failed: both are the sender's fault (400).
	//
	// A key read from a header (clerk's svix-id, reverse ETL's Idempotency-Key) belongs
	// to the request: when a request holds a batch, every payload gets the same key, and
	// the caller must make it unique per payload.
	Describe(ctx context.Context, e Event) (events.Info, error)
}

// Event is one payload of a request, as a Describer reads it. It is passed by value so
// that describing allocates nothing of its own.
type Event struct {
	// Payload is the decoded payload.
	Payload map[string]any
	// Header are the request's headers as received (canonical names; lower-case names
	// are also found).
	Header http.Header
	// Headers are the request's headers as CEL sees them: lower-case names, the first
	// value of each ([LowerHeaders]).
	Headers map[string]string
	// RawBody is the request's body as received.
	RawBody []byte
	// Vars are the SourceEnvironment's variables.
	Vars map[string]string
}

// ErrUnknownType is returned for a Source type no provider serves.
var ErrUnknownType = errors.New("unknown source type")

var registry = map[v1alpha1.SourceType]Provider{}

// register adds a provider; each provider's file calls it in init.
func register(p Provider) {
	if _, dup := registry[p.Type()]; dup {
		panic(fmt.Sprintf("provider %q registered twice", p.Type()))
	}
	registry[p.Type()] = p
}

// Lookup returns the provider of a source type; the error wraps ErrUnknownType when
// there is none.
func Lookup(t v1alpha1.SourceType) (Provider, error) {
	if p, ok := registry[t]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownType, truncate(string(t), 64))
}

// Types returns the registered source types, sorted.
func Types() []v1alpha1.SourceType {
	return slices.Sorted(maps.Keys(registry))
}

// UsesEndpointToken reports whether a Source is reached only through an endpoint that
// carries an unguessable token, because its sender does not sign its requests. A Source
// of an unknown type does (it fails closed).
func UsesEndpointToken(spec *v1alpha1.SourceSpec) bool {
	p, err := Lookup(spec.Type)
	return err != nil || !p.Signs(spec)
}

// Compile compiles a Source for one SourceEnvironment with its provider.
func Compile(c Config) (Compiled, error) {
	p, err := Lookup(c.Source.Spec.Type)
	if err != nil {
		return Compiled{}, err
	}
	compiled, err := p.Compile(c)
	if err != nil {
		return Compiled{}, err
	}
	if compiled.Handshake, err = compileHandshake(c, compiled); err != nil {
		return Compiled{}, err
	}
	return compiled, nil
}

// Check checks a Source's spec without secrets, as the ingress will compile it. The
// error names the field; a *celext.CompileError also the position.
func Check(spec *v1alpha1.SourceSpec) error {
	p, err := Lookup(spec.Type)
	if err != nil {
		return fmt.Errorf("spec.type: %w", err)
	}
	if err := p.Check(spec); err != nil {
		return err
	}
	return checkHandshake(spec)
}

// SignatureHeaders returns the lower-case names of the headers a Source's verification
// reads for a signature, a token or credentials, sorted. Message ids and timestamps are
// not among them: they prove nothing without the signature.
func SignatureHeaders(spec *v1alpha1.SourceSpec) []string {
	p, err := Lookup(spec.Type)
	if err != nil {
		return nil
	}
	var names []string
	for _, n := range p.SignatureHeaders(spec) {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Sign returns the headers the sender of a Source sets to sign body with secret at t:
// the provider's own scheme, an http Source's configured one, or the header token of a
// Source with headerAuth. Sources that sign nothing get only a Content-Type: their
// endpoint token is in the URL.
func Sign(spec *v1alpha1.SourceSpec, secret string, t time.Time, body []byte) (http.Header, error) {
	p, err := Lookup(spec.Type)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if err := p.Sign(h, spec, secret, t, body); err != nil {
		return nil, err
	}
	return h, nil
}

// LowerHeaders turns request headers into the map CEL sees as headers: lower-case
// names, the first value of each.
func LowerHeaders(h map[string][]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		if len(v) > 0 {
			out[strings.ToLower(k)] = v[0]
		}
	}
	return out
}

// tolerance is how far a signed timestamp may be from the clock: spec.tolerance, or
// the provider's default.
func tolerance(spec *v1alpha1.SourceSpec, def time.Duration) time.Duration {
	if spec.Tolerance != nil && spec.Tolerance.Duration > 0 {
		return spec.Tolerance.Duration
	}
	return def
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
