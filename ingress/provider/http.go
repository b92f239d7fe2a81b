package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"cel.dev/cel-go/cel"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/celext"
	"inlet.dev/inlet/ingress/events"
	"inlet.dev/inlet/ingress/sign"
	"inlet.dev/inlet/ingress/verify"
)

// http: any other HTTP sender, whose Source's spec.http says how it is verified and
// where its event type, key and user id are (docs/sources/http.md).
//
//	verified  spec.http.verification: hmac, standardWebhooks, github, twilio, basic,
//	          bearer, headerToken, cel or none; 5m tolerance for a signed timestamp
//	type      CEL spec.http.eventType, default body.type
//	key       CEL spec.http.idempotencyKey, else none
//	user id   CEL spec.http.userId, else none
//	data      the whole payload (body)
//
// The key and the user id follow the same rules as every other provider's
// ([events.Key], [events.ID]): an expression that fails drops the key.
func init() { register(httpProvider{}) }

// celVerifyTimeout bounds one run of a CEL verify expression.
const celVerifyTimeout = 100 * time.Millisecond

type httpProvider struct{}

func (httpProvider) Type() v1alpha1.SourceType { return v1alpha1.SourceTypeHTTP }

// Signs reports whether the verification checks a signature or token of its own:
// hmac, standardWebhooks, github, twilio and cel do; basic, bearer, headerToken and none are
// reached through an endpoint token as well.
func (httpProvider) Signs(spec *v1alpha1.SourceSpec) bool {
	if spec.HTTP == nil {
		return false
	}
	switch spec.HTTP.Verification.Type {
	case v1alpha1.VerificationHMAC, v1alpha1.VerificationStandardWebhooks, v1alpha1.VerificationGitHub, v1alpha1.VerificationCEL,
		v1alpha1.VerificationTwilio:
		return true
	}
	return false
}

func (httpProvider) SignatureHeaders(spec *v1alpha1.SourceSpec) []string {
	if spec.HTTP == nil {
		return nil
	}
	v := &spec.HTTP.Verification
	switch v.Type {
	case v1alpha1.VerificationHMAC:
		if v.HMAC != nil {
			return []string{v.HMAC.Header}
		}
	case v1alpha1.VerificationStandardWebhooks:
		return []string{"Webhook-Signature", "Svix-Signature"}
	case v1alpha1.VerificationGitHub:
		return []string{"X-Hub-Signature-256"}
	case v1alpha1.VerificationTwilio:
		return []string{"X-Twilio-Signature"}
	case v1alpha1.VerificationBasic, v1alpha1.VerificationBearer:
		return []string{authorizationHeader}
	case v1alpha1.VerificationHeaderToken:
		if v.HeaderToken != nil {
			return []string{v.HeaderToken.Header}
		}
	case v1alpha1.VerificationCEL:
		if v.CEL != nil {
			return celHeaders(string(v.CEL.Expression))
		}
	}
	return nil
}

func (httpProvider) Compile(c Config) (Compiled, error) {
	src := c.Source
	h := src.Spec.HTTP
	if h == nil {
		return Compiled{}, errors.New("spec.http is required for an http source")
	}
	d, err := httpDescriber(c.CEL, h)
	if err != nil {
		return Compiled{}, err
	}
	v, err := httpVerifier(c.CEL, &h.Verification, c.Secrets, c.Vars)
	if _, ok := errors.AsType[*celext.CompileError](err); ok {
		return Compiled{}, err // names its field; the caller names the Source
	}
	if errors.Is(err, verify.ErrNoSecret) {
		return Compiled{}, fmt.Errorf("signingSecretRefs: %s verification needs at least one non-empty signing secret", h.Verification.Type)
	}
	if err != nil {
		return Compiled{}, fmt.Errorf("Source %q: spec.http.verification: %w", src.Name, err)
	}
	return Compiled{Verifier: v, Describer: d}, nil
}

func (httpProvider) Check(spec *v1alpha1.SourceSpec) error {
	if spec.HTTP == nil {
		return errors.New("spec.http is required for an http source")
	}
	env, err := celext.NewEnv()
	if err != nil {
		return err
	}
	if _, err := httpDescriber(env, spec.HTTP); err != nil {
		return err
	}
	v := &spec.HTTP.Verification
	switch v.Type {
	case v1alpha1.VerificationStandardWebhooks, v1alpha1.VerificationBasic:
		return nil // their secrets' format is checked when the SourceEnvironment is served
	}
	if _, err := httpVerifier(env, v, []string{"check-only-secret"}, nil); err != nil {
		if _, ok := errors.AsType[*celext.CompileError](err); ok {
			return err
		}
		return fmt.Errorf("spec.http.verification: %w", err)
	}
	return nil
}

func (httpProvider) Sign(h http.Header, spec *v1alpha1.SourceSpec, secret string, t time.Time, body []byte) error {
	if spec.HTTP == nil {
		return errors.New("an http source needs spec.http")
	}
	v := &spec.HTTP.Verification
	switch v.Type {
	case v1alpha1.VerificationHMAC:
		c := v.HMAC
		id := sign.MessageID(body)
		ts := strconv.FormatInt(t.Unix(), 10)
		if c.TimestampUnit == v1alpha1.TimestampMilliseconds {
			ts = strconv.FormatInt(t.UnixMilli(), 10)
		}
		var content [][]byte
		switch c.SignedContent {
		case v1alpha1.SignedTimestampBody:
			content = [][]byte{[]byte(ts + "."), body}
		case v1alpha1.SignedIDTimestampBody:
			content = [][]byte{[]byte(id + "." + ts + "."), body}
		default:
			content = [][]byte{body}
		}
		sig, err := sign.HMAC(c.Algorithm, c.Encoding, secret, content...)
		if err != nil {
			return err
		}
		h.Set(c.Header, c.Prefix+sig)
		if c.TimestampHeader != "" {
			h.Set(c.TimestampHeader, ts)
		}
		if c.IDHeader != "" {
			h.Set(c.IDHeader, id)
		}
	case v1alpha1.VerificationStandardWebhooks:
		id := sign.MessageID(body)
		sig, err := sign.Svix(secret, id, t, body)
		if err != nil {
			return err
		}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", strconv.FormatInt(t.Unix(), 10))
		h.Set("webhook-signature", sig)
	case v1alpha1.VerificationGitHub:
		sig, _ := sign.HMAC(v1alpha1.HMACSHA256, v1alpha1.EncodingHex, secret, body)
		h.Set("X-Hub-Signature-256", "sha256="+sig)
	case v1alpha1.VerificationTwilio:
		if v.Twilio == nil {
			return errors.New("a twilio verification needs spec.http.verification.twilio")
		}
		sig, err := sign.Twilio(secret, v.Twilio.URL, body)
		if err != nil {
			return err
		}
		h.Set("X-Twilio-Signature", sig)
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	case v1alpha1.VerificationBasic:
		signHeaderToken(h, v1alpha1.HeaderAuthBasic, "", secret)
	case v1alpha1.VerificationBearer:
		signHeaderToken(h, v1alpha1.HeaderAuthBearer, "", secret)
	case v1alpha1.VerificationHeaderToken:
		signHeaderToken(h, v1alpha1.HeaderAuthHeader, v.HeaderToken.Header, secret)
	case v1alpha1.VerificationCEL:
		return errors.New("a cel verification is not known to inlet send: sign the request yourself and pass the headers with -H")
	}
	return nil
}

// httpVerifier builds the verifier of an http source's verification.
func httpVerifier(env *cel.Env, v *v1alpha1.Verification, secrets []string, vars map[string]string) (verify.Verifier, error) {
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
	case v1alpha1.VerificationTwilio:
		if v.Twilio == nil {
			return nil, errors.New("twilio settings are required")
		}
		return verify.Twilio(v.Twilio.URL, secrets)
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
		prg, err := celext.Compile(env, "spec.http.verification.cel.expression", string(v.CEL.Expression), cel.BoolType)
		if err != nil {
			return nil, err
		}
		if len(secrets) == 0 {
			secrets = []string{""}
		}
		return &celVerifier{program: prg, secrets: secrets, vars: vars}, nil
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
	// vars are the environment's variables.
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

// httpPrograms are the compiled expressions an http source describes its events with.
type httpPrograms struct {
	preprocess, eventType, idempotencyKey, userID *celext.Program
}

// httpDescriber compiles an http source's expressions.
func httpDescriber(env *cel.Env, h *v1alpha1.HTTPSource) (*httpPrograms, error) {
	p := &httpPrograms{}
	compile := func(dst **celext.Program, field string, e v1alpha1.Expression, want *cel.Type) error {
		if e == "" {
			return nil
		}
		prg, err := celext.Compile(env, field, string(e), want)
		*dst = prg
		return err
	}
	eventType := h.EventType
	if eventType == "" {
		eventType = "body.type"
	}
	return p, errors.Join(
		compile(&p.preprocess, "spec.http.preprocess", h.Preprocess, nil),
		compile(&p.eventType, "spec.http.eventType", eventType, cel.StringType),
		compile(&p.idempotencyKey, "spec.http.idempotencyKey", h.IdempotencyKey, nil),
		compile(&p.userID, "spec.http.userId", h.UserID, nil),
	)
}

// Describe runs the preprocess expression, then the event type, key and user id
// expressions, which see its result as preprocess.
func (p *httpPrograms) Describe(ctx context.Context, e Event) (events.Info, error) {
	var info events.Info
	vars := &celext.Vars{Body: e.Payload, Headers: e.Headers, RawBody: e.RawBody, Vars: e.Vars}
	if p.preprocess != nil {
		out, err := p.preprocess.EvalNative(ctx, vars)
		if err != nil {
			return events.Info{}, fmt.Errorf("preprocess: %w", err)
		}
		info.Preprocess, vars.Preprocess = out, out
	}
	t, err := p.eventType.EvalString(ctx, vars)
	if err != nil || t == "" {
		return events.Info{}, fmt.Errorf("event type not found: %v", orEmpty(err))
	}
	info.Type = t
	if p.idempotencyKey != nil {
		info.IdempotencyKey, info.KeyDropped = keyOf(p.idempotencyKey.EvalNative(ctx, vars))
	}
	if p.userID != nil {
		if v, err := p.userID.EvalNative(ctx, vars); err == nil {
			info.UserID = id(v)
		}
	}
	info.Data = e.Payload
	return info, nil
}

// keyOf turns the idempotency key expression's result into a key, by the rule every
// provider shares ([events.Key]): a failed expression drops the key too.
func keyOf(v any, err error) (key string, dropped bool) {
	if err != nil {
		return "", true
	}
	return events.Key(v)
}

func orEmpty(err error) string {
	if err == nil {
		return "the expression returned an empty string"
	}
	return err.Error()
}

// celHeaderRef finds the headers a CEL expression reads: headers['name'],
// headers["name"] and headers.name.
var celHeaderRef = regexp.MustCompile(`headers\s*(?:\[\s*(?:'([^']*)'|"([^"]*)")\s*\]|\.\s*([A-Za-z_][A-Za-z0-9_]*))`)

// celHeaders returns the names of the headers a CEL verification expression reads:
// whatever it compares them with, they are what authenticates the request.
func celHeaders(expr string) []string {
	matches := celHeaderRef.FindAllStringSubmatch(expr, -1)
	out := make([]string, 0, len(matches))
	for _, m := range matches {
		out = append(out, m[1]+m[2]+m[3])
	}
	return out
}

// BodyReads are what the expressions read of body; Info.Data is the whole payload.
// They run without event (it is null to them), so its reads read nothing.
func (p *httpPrograms) BodyReads() BodyReads {
	r := BodyReads{Info: &events.Paths{}, Data: [][]string{{}}}
	for _, prg := range []*celext.Program{p.preprocess, p.eventType, p.idempotencyKey, p.userID} {
		if prg == nil {
			continue
		}
		for _, path := range prg.Reads().Body {
			r.Info.Add(path...)
		}
	}
	return r
}
