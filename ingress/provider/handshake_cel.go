package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/celext"
	"inlet.dev/inlet/ingress/verify"
)

// The variables a cel handshake's expressions see besides those of every expression.
const (
	varMethod = "method"
	varQuery  = "query"
)

// handshakeEnv is the CEL environment of handshake expressions: inlet's own (celext),
// with method and query. Built once per process.
var handshakeEnv = sync.OnceValues(func() (*cel.Env, error) {
	base, err := celext.NewEnv()
	if err != nil {
		return nil, err
	}
	return base.Extend(
		cel.VariableWithDoc(varMethod, cel.StringType, "the request's HTTP method: GET, HEAD or POST"),
		cel.VariableWithDoc(varQuery, cel.MapType(cel.StringType, cel.StringType),
			"the URL's query parameters, the first value of each"),
	)
})

// forbiddenAnswerHeaders are the headers a cel handshake cannot set: the server frames
// the answer itself, and a handshake sets no cookie.
var forbiddenAnswerHeaders = []string{"Connection", "Content-Length", "Set-Cookie", "Transfer-Encoding"}

// celHandshakePrograms are a cel handshake's compiled expressions.
type celHandshakePrograms struct {
	match, body cel.Program
	headers     map[string]cel.Program // by canonical name
	status      int
	verifySrc   bool
}

// compileCELHandshake compiles a cel handshake's expressions, with the same checks and
// error messages as every other expression (a *celext.CompileError names the field).
func compileCELHandshake(cfg *v1alpha1.CELHandshake) (*celHandshakePrograms, error) {
	env, err := handshakeEnv()
	if err != nil {
		return nil, err
	}
	const field = "spec.http.handshake.cel"
	p := &celHandshakePrograms{status: int(cfg.Status), verifySrc: cfg.Verification != v1alpha1.HandshakeVerifyNone}
	if p.status == 0 {
		p.status = http.StatusOK
	}
	if p.status < 200 || p.status > 299 {
		return nil, fmt.Errorf("%s.status: %d is not a 2xx status", field, p.status)
	}
	compile := func(name, expr string, want *cel.Type) (cel.Program, error) {
		// celext.Compile type-checks and words the errors as for every expression; the
		// program is planned here, as it is evaluated with the handshake's variables.
		if _, err := celext.Compile(env, name, expr, want); err != nil {
			return nil, err
		}
		ast, iss := env.Compile(expr)
		if iss.Err() != nil {
			return nil, &celext.CompileError{Field: name, Message: iss.Err().Error()}
		}
		return env.Program(ast,
			cel.CostLimit(celext.DefaultCostLimit),
			cel.InterruptCheckFrequency(celext.InterruptCheckFrequency),
			cel.EvalOptions(cel.OptOptimize))
	}
	if p.match, err = compile(field+".match", string(cfg.Match), cel.BoolType); err != nil {
		return nil, err
	}
	if cfg.Body != "" {
		if p.body, err = compile(field+".body", string(cfg.Body), nil); err != nil {
			return nil, err
		}
	}
	p.headers = make(map[string]cel.Program, len(cfg.Headers))
	for _, name := range slices.Sorted(maps.Keys(cfg.Headers)) {
		canonical := textproto.CanonicalMIMEHeaderKey(name)
		switch {
		case name == "" || strings.IndexFunc(name, func(r rune) bool { return !isHeaderNameChar(r) }) >= 0:
			return nil, fmt.Errorf("%s.headers: %q is not a valid header name", field, truncate(name, 64))
		case slices.Contains(forbiddenAnswerHeaders, canonical):
			return nil, fmt.Errorf("%s.headers: %s cannot be set by a handshake", field, canonical)
		}
		prg, err := compile(fmt.Sprintf("%s.headers[%s]", field, name), string(cfg.Headers[name]), cel.StringType)
		if err != nil {
			return nil, err
		}
		p.headers[canonical] = prg
	}
	return p, nil
}

func isHeaderNameChar(r rune) bool {
	return r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r))
}

// celHandshake answers a handshake described in CEL: a request match accepts (and, with
// verification source, the Source's verifier accepts) is answered with status, body and
// headers.
func celHandshake(cfg *v1alpha1.CELHandshake, v verify.Verifier, vars map[string]string) (Handshake, error) {
	if cfg == nil {
		return nil, errors.New("spec.http.handshake.cel is required for a cel handshake")
	}
	p, err := compileCELHandshake(cfg)
	if err != nil {
		return nil, err
	}
	return &handshakeFunc{typ: "cel", methods: []string{http.MethodGet, http.MethodHead},
		answer: func(ctx context.Context, r *HandshakeRequest) (*HandshakeAnswer, error) {
			return p.answer(ctx, r, v, vars)
		}}, nil
}

// celHandshakeTimeout bounds the evaluation of a cel handshake's expressions.
const celHandshakeTimeout = 100 * time.Millisecond

func (p *celHandshakePrograms) answer(
	ctx context.Context, r *HandshakeRequest, v verify.Verifier, vars map[string]string,
) (*HandshakeAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, celHandshakeTimeout)
	defer cancel()
	act := &handshakeVars{
		base:   celext.Vars{RawBody: r.Body, Headers: LowerHeaders(r.Header), Vars: vars},
		method: r.Method, query: make(map[string]string, len(r.Query)),
	}
	for k, vs := range r.Query {
		if len(vs) > 0 {
			act.query[k] = vs[0]
		}
	}
	if len(r.Body) > 0 {
		var body any
		if json.Unmarshal(r.Body, &body) == nil {
			act.base.Body = body
		}
	}
	// A match that fails to evaluate is no match: the request goes on as an event,
	// which the data path verifies and types as usual.
	out, _, err := p.match.ContextEval(ctx, act)
	if matched, isBool := out.(types.Bool); err != nil || !isBool || !bool(matched) {
		return nil, nil
	}
	if p.verifySrc {
		if err := verifyWith(v, r); err != nil {
			return nil, fmt.Errorf("cel handshake: %w", err)
		}
	}
	a := &HandshakeAnswer{Status: p.status, Header: http.Header{}}
	if p.body != nil {
		val, _, err := p.body.ContextEval(ctx, act)
		if err != nil {
			return nil, malformedHandshake("cel", "body: %v", err)
		}
		switch b := val.(type) {
		case types.String:
			a.Body = []byte(b)
			a.Header.Set("Content-Type", "text/plain; charset=utf-8")
		case types.Bytes:
			a.Body = []byte(b)
			a.Header.Set("Content-Type", "application/octet-stream")
		default:
			native, err := celext.ToNative(val)
			if err != nil {
				return nil, malformedHandshake("cel", "body: %v", err)
			}
			if a.Body, err = json.Marshal(native); err != nil {
				return nil, malformedHandshake("cel", "body: %v", err)
			}
			a.Header.Set("Content-Type", "application/json")
		}
	}
	for name, prg := range p.headers {
		val, _, err := prg.ContextEval(ctx, act)
		if err != nil {
			return nil, malformedHandshake("cel", "headers[%s]: %v", name, err)
		}
		s, ok := val.(types.String)
		if !ok || strings.ContainsAny(string(s), "\r\n\x00") {
			return nil, malformedHandshake("cel", "headers[%s]: not a header value", name)
		}
		a.Header.Set(name, string(s))
	}
	return a, nil
}

// handshakeVars are the variables of a cel handshake's expressions.
type handshakeVars struct {
	base   celext.Vars
	method string
	query  map[string]string
}

// ResolveName implements interpreter.Activation.
func (v *handshakeVars) ResolveName(name string) (any, bool) {
	switch name {
	case varMethod:
		return v.method, true
	case varQuery:
		return v.query, true
	}
	return v.base.ResolveName(name)
}

// Parent implements interpreter.Activation: handshakeVars has no parent.
func (*handshakeVars) Parent() interpreter.Activation { return nil }
