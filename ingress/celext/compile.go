package celext

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
)

// DefaultCostLimit bounds the work one evaluation of one expression may do, in CEL cost units
// (roughly one per operation, 0.1 per byte scanned or hashed). It is far above what a mapping
// over a webhook payload needs — hashing a 1 MiB body costs about 105,000 — and far below what
// a runaway comprehension would take.
const DefaultCostLimit uint64 = 1_000_000

// InterruptCheckFrequency is how many comprehension iterations run between two checks of the
// evaluation context, so a cancelled or expired context stops a long evaluation.
const InterruptCheckFrequency uint = 100

// CompileError is an expression that does not compile, or whose result has the wrong type.
// Its message is written for the person who wrote the expression, and names the API field that
// holds it and, where known, the position in the expression.
type CompileError struct {
	// Field is the API path of the expression, e.g. spec.actions[0].triggerWorkflow.recipients.
	Field string
	// Line is the 1-based line of the error in the expression, 0 when the error has no position.
	Line int
	// Column is the 1-based column (in characters) of the error, 0 when it has no position.
	Column int
	// Message says what is wrong, e.g. "undeclared reference to 'bdy'".
	Message string
}

// Error reads "<field>: line <l>, column <c>: <message>", or "<field>: <message>" when the
// error has no position.
func (e *CompileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d, column %d: %s", e.Field, e.Line, e.Column, e.Message)
	}
	return e.Field + ": " + e.Message
}

// Program is a compiled expression, ready to be evaluated any number of times, concurrently.
type Program struct {
	field string
	out   *cel.Type
	prg   cel.Program
	// bounded: the checker bounds the program's cost below DefaultCostLimit.
	bounded bool
	// reads: what it reads of body and event.
	reads Reads
}

// Compile parses and type-checks expr against env (see NewEnv) and plans it for evaluation with
// DefaultCostLimit and InterruptCheckFrequency. field is the API path of the expression; it
// prefixes every compile and evaluation error.
//
// want is the type the caller needs the result to have, e.g. cel.BoolType for a condition or
// cel.ListType(cel.StringType) for recipients; nil accepts any type. An expression whose type is
// only known at run time (dyn, as anything read from body is) is accepted for any want, and
// checked when it is evaluated (EvalBool, EvalString).
//
// An empty expression, a syntax or type error, and a result type that can never be want are
// returned as a *CompileError; the first error in the expression is reported.
func Compile(env *cel.Env, field, expr string, want *cel.Type) (*Program, error) {
	if env == nil {
		return nil, errors.New("celext.Compile: nil environment")
	}
	if strings.TrimSpace(expr) == "" {
		return nil, &CompileError{Field: field, Message: "expression is empty"}
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, compileError(field, iss.Errors())
	}
	out := ast.OutputType()
	if want != nil && !assignable(want, out) {
		return nil, &CompileError{
			Field:   field,
			Message: fmt.Sprintf("must be %s, got %s", withArticle(want), cel.FormatCELType(out)),
		}
	}
	// A program whose cost the checker bounds below the limit whatever the input (no
	// comprehension over a list of unknown size, no function priced by the size of an
	// input of unknown size) can neither exceed the limit nor run long: it is planned
	// without cost tracking and interrupt checks, and evaluated without a context of
	// its own, which is most of what evaluating a field access or a comparison costs.
	bounded := costBounded(env, ast)
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if !bounded {
		opts = append(opts, cel.CostLimit(DefaultCostLimit), cel.InterruptCheckFrequency(InterruptCheckFrequency))
	}
	prg, err := env.Program(ast, opts...)
	if err != nil {
		return nil, &CompileError{Field: field, Message: err.Error()}
	}
	return &Program{field: field, out: out, prg: prg, bounded: bounded, reads: readsOf(ast)}, nil
}

// costBounded reports whether the checker's estimate of the expression's cost, for
// inputs of any size, is at most DefaultCostLimit.
func costBounded(env *cel.Env, ast *cel.Ast) bool {
	est, err := env.EstimateCost(ast, unknownSizes{})
	return err == nil && est.Max <= DefaultCostLimit
}

// unknownSizes is a cost estimator that knows nothing of the inputs: every variable's
// size is unbounded, so that only a cost the expression itself bounds is bounded.
type unknownSizes struct{}

func (unknownSizes) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}

func (unknownSizes) EstimateSize(cost.AstNode) *cost.SizeEstimate { return nil }

// CostBounded reports whether the program's cost is bounded below DefaultCostLimit
// whatever its input, so that it is evaluated without cost tracking or interrupt
// checks.
func (p *Program) CostBounded() bool {
	return p.bounded
}

// Field returns the API path the program was compiled for.
func (p *Program) Field() string {
	return p.field
}

// OutputType returns the type the checker inferred for the expression's result.
func (p *Program) OutputType() *cel.Type {
	return p.out
}

// compileError turns the first (by position) of cel-go's errors into a CompileError.
func compileError(field string, errs []*cel.Error) *CompileError {
	if len(errs) == 0 {
		return &CompileError{Field: field, Message: "does not compile"}
	}
	first := slices.MinFunc(errs, func(a, b *cel.Error) int {
		return cmp.Or(
			cmp.Compare(a.Location.Line(), b.Location.Line()),
			cmp.Compare(a.Location.Column(), b.Location.Column()))
	})
	ce := &CompileError{Field: field, Message: first.Message}
	if line := first.Location.Line(); line > 0 {
		ce.Line = line
		ce.Column = first.Location.Column() + 1 // cel-go's columns are 0-based
	}
	return ce
}

// assignable reports whether a value of type got can be a want. dyn on either side, at any
// depth, is accepted: the check is repeated on the value at run time.
func assignable(want, got *cel.Type) bool {
	if isDyn(want) || isDyn(got) {
		return true
	}
	if want.Kind() != got.Kind() || want.TypeName() != got.TypeName() {
		return false
	}
	wp, gp := want.Parameters(), got.Parameters()
	if len(wp) != len(gp) {
		return false
	}
	for i := range wp {
		if !assignable(wp[i], gp[i]) {
			return false
		}
	}
	return true
}

func isDyn(t *cel.Type) bool {
	switch t.Kind() {
	case types.DynKind, types.AnyKind, types.TypeParamKind:
		return true
	}
	return false
}

// withArticle renders a type for a message: "a bool", "an int", "a list(string)".
func withArticle(t *cel.Type) string {
	name := cel.FormatCELType(t)
	if name != "" && strings.ContainsRune("aeio", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}
