package celext

import (
	"context"
	"fmt"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"
)

// Vars holds the values of the variables for one evaluation. It is the activation cel-go reads
// variables from: a lookup is a switch on the name, so evaluating costs no map of variables per
// request, and values are converted to CEL values only where an expression reaches them (a
// path such as body.data.object.customer is walked on the Go maps themselves).
//
// A zero field is a defined, empty variable: a nil Body is null, nil Headers an empty map.
// Vars must not be changed while an evaluation that reads it runs.
type Vars struct {
	// Body is the parsed payload, as json.Unmarshal into an `any` builds it (map[string]any,
	// []any, string, float64, bool, nil); json.Number values are read as int or double.
	Body any
	// Headers are the request headers, keyed by lower-case name.
	Headers map[string]string
	// RawBody is the payload exactly as received.
	RawBody []byte
	// Preprocess is what the preprocess expression returned: the ref.Val from Program.Eval, or
	// its EvalNative form.
	Preprocess any
	// Vars are the per-environment variables, secrets among them.
	Vars map[string]string
	// Event is the normalised event, a JSON-shaped map with the keys type, user_id, data and
	// event.
	Event any
}

// ResolveName implements interpreter.Activation.
func (v *Vars) ResolveName(name string) (any, bool) {
	switch name {
	case VarBody:
		return v.Body, true
	case VarHeaders:
		return v.Headers, true
	case VarRawBody:
		return types.Bytes(v.RawBody), true
	case VarPreprocess:
		return v.Preprocess, true
	case VarVars:
		return v.Vars, true
	case VarEvent:
		return v.Event, true
	}
	return nil, false
}

// Parent implements interpreter.Activation: Vars has no parent.
func (*Vars) Parent() interpreter.Activation {
	return nil
}

var _ interpreter.Activation = (*Vars)(nil)

// noVars stands in for a nil *Vars.
var noVars = &Vars{}

// EvalError is an expression that failed while it was evaluated: a missing key, a wrong type, a
// function's error, the cost limit, or the context ending. It names the API field that holds
// the expression; errors.Is and errors.As see the cause (context.DeadlineExceeded, or
// interpreter.EvalCancelledError for the cost limit).
type EvalError struct {
	// Field is the API path of the expression.
	Field string
	// Err is the cause.
	Err error
}

// Error reads "<field>: <cause>", e.g. "spec.when: no such key: data".
func (e *EvalError) Error() string {
	return e.Field + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *EvalError) Unwrap() error {
	return e.Err
}

// Eval evaluates the program against v and returns its CEL value. It stops with an error when
// the cost limit is exceeded or ctx ends (ctx is checked before evaluating and, unless the
// program's cost is bounded at compile time (CostBounded), every InterruptCheckFrequency
// comprehension iterations). Every error is an *EvalError. A nil v
// evaluates with every variable empty.
func (p *Program) Eval(ctx context.Context, v *Vars) (ref.Val, error) {
	if err := ctx.Err(); err != nil {
		return nil, &EvalError{Field: p.field, Err: context.Cause(ctx)}
	}
	if v == nil {
		v = noVars
	}
	var out ref.Val
	var err error
	if p.bounded {
		out, _, err = p.prg.Eval(v) // cannot exceed the cost limit nor run long
	} else {
		out, _, err = p.prg.ContextEval(ctx, v)
	}
	if err != nil {
		return nil, &EvalError{Field: p.field, Err: err}
	}
	return out, nil
}

// EvalBool evaluates a condition. A result that is not a bool is an *EvalError.
func (p *Program) EvalBool(ctx context.Context, v *Vars) (bool, error) {
	out, err := p.Eval(ctx, v)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, p.wrongType("bool", out)
	}
	return bool(b), nil
}

// EvalString evaluates an expression that must give a string. A result that is not a string is
// an *EvalError.
func (p *Program) EvalString(ctx context.Context, v *Vars) (string, error) {
	out, err := p.Eval(ctx, v)
	if err != nil {
		return "", err
	}
	s, ok := out.(types.String)
	if !ok {
		return "", p.wrongType("string", out)
	}
	return string(s), nil
}

// EvalNative evaluates the program and converts its result with ToNative to a Go value that
// encoding/json marshals as the JSON the expression describes.
func (p *Program) EvalNative(ctx context.Context, v *Vars) (any, error) {
	out, err := p.Eval(ctx, v)
	if err != nil {
		return nil, err
	}
	n, err := ToNative(out)
	if err != nil {
		return nil, &EvalError{Field: p.field, Err: err}
	}
	return n, nil
}

func (p *Program) wrongType(want string, got ref.Val) error {
	return &EvalError{Field: p.field, Err: fmt.Errorf("must be a %s, got %s", want, got.Type().TypeName())}
}
