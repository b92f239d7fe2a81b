package config

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"cel.dev/cel-go/cel"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/celext"
	"inlet.dev/inlet/ingress/verify"
)

// celVerifyTimeout bounds one run of a CEL verify expression.
const celVerifyTimeout = 100 * time.Millisecond

// verifier builds the Source's verifier from the environment's signing secrets, and
// compiles an http source's expressions.
func (b *builder) verifier(src *v1alpha1.Source, secrets []string) (verify.Verifier, *HTTPPrograms, error) {
	spec := &src.Spec
	tolerance := spec.SignatureTolerance()
	need := func(v verify.Verifier, err error) (verify.Verifier, *HTTPPrograms, error) {
		if errors.Is(err, verify.ErrNoSecret) {
			return nil, nil, fmt.Errorf("signingSecretRefs: a %s source needs at least one non-empty signing secret", spec.Type)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("Source %q: %w", src.Name, err)
		}
		return v, nil, nil
	}
	switch spec.Type {
	case v1alpha1.SourceTypeStripe:
		return need(verify.Stripe(secrets, tolerance))
	case v1alpha1.SourceTypeClerk:
		return need(verify.Svix(secrets, tolerance))
	case v1alpha1.SourceTypeWorkOS:
		return need(verify.WorkOS(secrets, tolerance))
	case v1alpha1.SourceTypeHTTP:
		return b.httpSource(src, secrets)
	}
	// The remaining types sign nothing: the endpoint token guards them, plus the
	// optional header token, plus Segment's X-Signature when a secret is set.
	if spec.HeaderAuth != nil {
		return need(headerAuth(*spec.HeaderAuth, secrets))
	}
	if spec.Type == v1alpha1.SourceTypeSegment && len(secrets) > 0 {
		return need(verify.SegmentSignature(secrets))
	}
	return verify.None(), nil, nil
}

func headerAuth(h v1alpha1.HeaderAuth, secrets []string) (verify.Verifier, error) {
	switch h.Scheme {
	case v1alpha1.HeaderAuthBearer:
		return verify.Bearer(secrets)
	case v1alpha1.HeaderAuthBasic:
		creds, err := basicCredentials(secrets)
		if err != nil {
			return nil, err
		}
		return verify.Basic(creds)
	case v1alpha1.HeaderAuthHeader:
		header := h.Header
		if header == "" {
			header = "X-Webhook-Secret"
		}
		return verify.HeaderToken(header, secrets)
	}
	return nil, fmt.Errorf("headerAuth: unknown scheme %q", h.Scheme)
}

// basicCredentials splits "user:password" secrets.
func basicCredentials(secrets []string) ([]verify.Credential, error) {
	creds := make([]verify.Credential, 0, len(secrets))
	for i, s := range secrets {
		user, password, ok := strings.Cut(s, ":")
		if !ok {
			return nil, fmt.Errorf("signingSecretRefs[%d]: basic auth secrets are written user:password", i)
		}
		creds = append(creds, verify.Credential{Username: user, Password: password})
	}
	return creds, nil
}

func (b *builder) httpSource(src *v1alpha1.Source, secrets []string) (verify.Verifier, *HTTPPrograms, error) {
	h := src.Spec.HTTP
	if h == nil {
		return nil, nil, errors.New("spec.http is required for an http source")
	}
	programs, err := b.httpPrograms(h)
	if err != nil {
		return nil, nil, err
	}
	v, err := b.httpVerifier(&h.Verification, secrets)
	var ce *celext.CompileError
	if errors.As(err, &ce) {
		return nil, nil, err // names its field; the caller names the Source
	}
	if errors.Is(err, verify.ErrNoSecret) {
		return nil, nil, fmt.Errorf("signingSecretRefs: %s verification needs at least one non-empty signing secret", h.Verification.Type)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("Source %q: spec.http.verification: %w", src.Name, err)
	}
	return v, programs, nil
}

func (b *builder) httpPrograms(h *v1alpha1.HTTPSource) (*HTTPPrograms, error) {
	p := &HTTPPrograms{}
	compile := func(dst **celext.Program, field string, e v1alpha1.Expression, want *cel.Type) error {
		if e == "" {
			return nil
		}
		prg, err := celext.Compile(b.env, field, string(e), want)
		*dst = prg
		return err
	}
	eventType := h.EventType
	if eventType == "" {
		eventType = "body.type"
	}
	return p, errors.Join(
		compile(&p.Preprocess, "spec.http.preprocess", h.Preprocess, nil),
		compile(&p.EventType, "spec.http.eventType", eventType, cel.StringType),
		compile(&p.IdempotencyKey, "spec.http.idempotencyKey", h.IdempotencyKey, nil),
		compile(&p.UserID, "spec.http.userId", h.UserID, nil),
	)
}

func (b *builder) httpVerifier(v *v1alpha1.Verification, secrets []string) (verify.Verifier, error) {
	switch v.Type {
	case v1alpha1.VerificationHMAC:
		h := v.HMAC
		if h == nil {
			return nil, errors.New("hmac settings are required")
		}
		cfg := verify.HMACConfig{
			Header:          h.Header,
			Algorithm:       verify.Algorithm(h.Algorithm),
			Encoding:        verify.Encoding(h.Encoding),
			Prefix:          h.Prefix,
			SignedContent:   verify.SignedContent(h.SignedContent),
			TimestampHeader: h.TimestampHeader,
			TimestampUnit:   verify.TimestampUnit(h.TimestampUnit),
			IDHeader:        h.IDHeader,
		}
		if h.TimestampHeader != "" {
			cfg.Tolerance = verify.DefaultSvixTolerance
			if h.Tolerance != nil {
				cfg.Tolerance = h.Tolerance.Duration
			}
		}
		return verify.HMAC(cfg, secrets)
	case v1alpha1.VerificationStandardWebhooks:
		tolerance, keys := verify.DefaultSvixTolerance, []string(nil)
		if sw := v.StandardWebhooks; sw != nil {
			keys = sw.PublicKeys
			if sw.Tolerance != nil {
				tolerance = sw.Tolerance.Duration
			}
		}
		return verify.StandardWebhooks(secrets, keys, tolerance)
	case v1alpha1.VerificationGitHub:
		return verify.GitHub(secrets)
	case v1alpha1.VerificationBasic:
		creds, err := basicCredentials(secrets)
		if err != nil {
			return nil, err
		}
		return verify.Basic(creds)
	case v1alpha1.VerificationBearer:
		return verify.Bearer(secrets)
	case v1alpha1.VerificationHeaderToken:
		if v.HeaderToken == nil {
			return nil, errors.New("headerToken settings are required")
		}
		return verify.HeaderToken(v.HeaderToken.Header, secrets)
	case v1alpha1.VerificationCEL:
		if v.CEL == nil {
			return nil, errors.New("cel settings are required")
		}
		prg, err := celext.Compile(b.env, "spec.http.verification.cel.expression", string(v.CEL.Expression), cel.BoolType)
		if err != nil {
			return nil, err
		}
		if len(secrets) == 0 {
			secrets = []string{""}
		}
		return &celVerifier{program: prg, secrets: secrets}, nil
	case v1alpha1.VerificationNone:
		return verify.None(), nil
	}
	return nil, fmt.Errorf("unknown verification type %q", v.Type)
}

// celVerifier runs a CEL expression once per signing secret; the request passes when
// any run returns true. An evaluation error counts as a failure: verification fails
// closed.
type celVerifier struct {
	program *celext.Program
	secrets []string
	// vars are the environment's variables; set by SetVars once they are known.
	vars map[string]string
}

func (c *celVerifier) Verify(r *verify.Request, _ time.Time) error {
	if r == nil {
		return verify.ErrMissingSignature
	}
	headers := LowerHeaders(r.Header)
	ctx, cancel := context.WithTimeout(context.Background(), celVerifyTimeout)
	defer cancel()
	for _, secret := range c.secrets {
		vars := maps.Clone(c.vars)
		if vars == nil {
			vars = map[string]string{}
		}
		vars["signingSecret"] = secret
		ok, err := c.program.EvalBool(ctx, &celext.Vars{RawBody: r.Body, Headers: headers, Vars: vars})
		if err == nil && ok {
			return nil
		}
	}
	return fmt.Errorf("cel: %w: the verification expression did not return true", verify.ErrSignatureMismatch)
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

// CheckSource compiles a Source's CEL expressions and checks its verification settings
// as the ingress will, without its secrets. The error names the field; a
// *celext.CompileError also the position.
func CheckSource(src *v1alpha1.Source) error {
	if src.Spec.Type != v1alpha1.SourceTypeHTTP {
		if src.Spec.HeaderAuth != nil {
			_, err := headerAuth(*src.Spec.HeaderAuth, []string{"check:only"})
			return err
		}
		return nil
	}
	env, err := celext.NewEnv()
	if err != nil {
		return err
	}
	b := &builder{env: env}
	if src.Spec.HTTP == nil {
		return errors.New("spec.http is required for an http source")
	}
	if _, err := b.httpPrograms(src.Spec.HTTP); err != nil {
		return err
	}
	v := &src.Spec.HTTP.Verification
	switch v.Type {
	case v1alpha1.VerificationStandardWebhooks, v1alpha1.VerificationBasic:
		return nil // their secrets' format is checked when the SourceEnvironment is served
	}
	if _, err := b.httpVerifier(v, []string{"check-only-secret"}); err != nil {
		var ce *celext.CompileError
		if errors.As(err, &ce) {
			return err
		}
		return fmt.Errorf("spec.http.verification: %w", err)
	}
	return nil
}
