package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/events"
	"inlet.dev/inlet/ingress/verify"
)

// builtin is a provider whose scheme and payloads its sender fixes: every source type
// but http. Its file fills in the fields; builtin adds what they share: the tolerance
// from spec.tolerance, and for a sender that signs nothing, the endpoint token and the
// Source's header token (spec.headerAuth).
type builtin struct {
	typ v1alpha1.SourceType
	// signs says the sender signs every request; a SourceEnvironment then needs a
	// signing secret. A sender that does not is reached through an endpoint token.
	signs bool
	// tolerance is the default of spec.tolerance for a signed timestamp.
	tolerance time.Duration
	// signatureHeaders are the headers its own verification reads a signature from.
	signatureHeaders []string
	// verifier builds its own verification from the signing secrets. For a sender that
	// signs nothing, it is an optional check, used when secrets are set and the Source
	// has no headerAuth (Segment's X-Signature); nil when there is none.
	verifier func(secrets []string, tolerance time.Duration) (verify.Verifier, error)
	// sign sets the headers the sender sets to sign a request, the mirror of verifier.
	sign func(h http.Header, secret string, t time.Time, body []byte) error
	// describe finds a payload's event type, idempotency key, user id and data.
	describe func(payload map[string]any, header http.Header) (events.Info, error)
	// expand, when set, splits a payload that holds several people's events (an
	// Amplitude cohort sync) into one payload each, before describe ([Expander]).
	expand func(payload map[string]any) []map[string]any
	// reads are the paths of a payload describe reads, written a.b.c, and data the
	// paths its Info.Data is taken from ("" for the payload itself): see [BodyReads].
	// A provider without reads reads the whole payload.
	reads, data []string
}

func (b *builtin) Type() v1alpha1.SourceType { return b.typ }

func (b *builtin) Signs(*v1alpha1.SourceSpec) bool { return b.signs }

func (b *builtin) SignatureHeaders(spec *v1alpha1.SourceSpec) []string {
	return append(headerAuthHeaders(spec.HeaderAuth), b.signatureHeaders...)
}

func (b *builtin) Compile(c Config) (Compiled, error) {
	v, err := b.verify(&c.Source.Spec, c.Secrets)
	if errors.Is(err, verify.ErrNoSecret) {
		return Compiled{}, fmt.Errorf("signingSecretRefs: a %s source needs at least one non-empty signing secret", b.typ)
	}
	if err != nil {
		return Compiled{}, fmt.Errorf("Source %q: %w", c.Source.Name, err)
	}
	if b.expand != nil {
		return Compiled{Verifier: v, Describer: expandingDescriber{describeFunc(b.describe), b.expand}}, nil
	}
	if b.reads != nil {
		return Compiled{Verifier: v, Describer: readingDescriber{describeFunc(b.describe), readsOf(b.reads, b.data)}}, nil
	}
	return Compiled{Verifier: v, Describer: describeFunc(b.describe)}, nil
}

func (b *builtin) verify(spec *v1alpha1.SourceSpec, secrets []string) (verify.Verifier, error) {
	switch {
	case b.signs:
		return b.verifier(secrets, tolerance(spec, b.tolerance))
	case spec.HeaderAuth != nil:
		return headerAuth(*spec.HeaderAuth, secrets)
	case b.verifier != nil && len(secrets) > 0:
		return b.verifier(secrets, tolerance(spec, b.tolerance))
	}
	return verify.None(), nil
}

func (b *builtin) Check(spec *v1alpha1.SourceSpec) error {
	if spec.HeaderAuth != nil {
		_, err := headerAuth(*spec.HeaderAuth, []string{"check:only"})
		return err
	}
	return nil
}

func (b *builtin) Sign(h http.Header, spec *v1alpha1.SourceSpec, secret string, t time.Time, body []byte) error {
	switch {
	case b.signs:
		return b.sign(h, secret, t, body)
	case spec.HeaderAuth != nil:
		signHeaderToken(h, spec.HeaderAuth.Scheme, spec.HeaderAuth.Header, secret)
	case b.sign != nil && secret != "":
		return b.sign(h, secret, t, body)
	}
	return nil
}

// describeFunc is the Describer of a built-in provider: a function of the payload and
// the headers alone.
type describeFunc func(payload map[string]any, header http.Header) (events.Info, error)

func (f describeFunc) Describe(_ context.Context, e Event) (events.Info, error) {
	return f(e.Payload, e.Header)
}
