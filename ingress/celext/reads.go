package celext

import (
	"slices"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
)

// Reads are the parts of body and of event an expression reads, found in its checked
// syntax tree, so that the ingress decodes no more of a body than its expressions read.
// Each path is a chain of field names from the variable, and stands for the value there
// with all that it holds; the empty path is the whole variable.
//
// A chain of constant field selections and constant string indexes from the variable
// reads the value at its end: body.data.object.customer, body['data'].object,
// body.?data.?object, has(body.data.id) and event.data.id read one path each. Any other
// use of the variable reads what the chain up to it names: body.items[0].id and
// size(body.items) read body.items whole, a function given body reads body whole.
// This over-approximates, never the reverse: a comprehension variable named body is
// counted as body.
type Reads struct {
	Body  [][]string
	Event [][]string
}

// Reads returns what the program reads of body and event.
func (p *Program) Reads() Reads { return p.reads }

// readsOf walks a checked expression for its reads of body and event.
func readsOf(a *cel.Ast) Reads {
	var r Reads
	var walk func(e ast.Expr)
	walk = func(e ast.Expr) {
		if root, path, ok := chain(e); ok {
			switch root {
			case VarBody:
				r.Body = append(r.Body, path)
			case VarEvent:
				r.Event = append(r.Event, path)
			}
			return // a chain holds nothing but constants under its variable
		}
		switch e.Kind() {
		case ast.SelectKind:
			walk(e.AsSelect().Operand())
		case ast.CallKind:
			c := e.AsCall()
			if c.IsMemberFunction() {
				walk(c.Target())
			}
			for _, arg := range c.Args() {
				walk(arg)
			}
		case ast.ComprehensionKind:
			c := e.AsComprehension()
			for _, x := range []ast.Expr{c.IterRange(), c.AccuInit(), c.LoopCondition(), c.LoopStep(), c.Result()} {
				walk(x)
			}
		case ast.ListKind:
			for _, x := range e.AsList().Elements() {
				walk(x)
			}
		case ast.MapKind:
			for _, entry := range e.AsMap().Entries() {
				walk(entry.AsMapEntry().Key())
				walk(entry.AsMapEntry().Value())
			}
		case ast.StructKind:
			for _, f := range e.AsStruct().Fields() {
				walk(f.AsStructField().Value())
			}
		}
	}
	walk(a.NativeRep().Expr())
	return r
}

// chain reports whether e is a variable followed by constant field selections and
// constant string indexes, and returns the variable and the fields.
func chain(e ast.Expr) (root string, path []string, ok bool) {
	switch e.Kind() {
	case ast.IdentKind:
		return e.AsIdent(), nil, true
	case ast.SelectKind:
		s := e.AsSelect()
		if root, path, ok = chain(s.Operand()); ok {
			return root, append(slices.Clip(path), s.FieldName()), true
		}
	case ast.CallKind:
		c := e.AsCall()
		switch c.FunctionName() {
		case operators.Index, operators.OptIndex, operators.OptSelect:
		default:
			return "", nil, false
		}
		args := c.Args()
		if c.IsMemberFunction() || len(args) != 2 || args[1].Kind() != ast.LiteralKind {
			return "", nil, false
		}
		name, isString := args[1].AsLiteral().(types.String)
		if !isString {
			return "", nil, false
		}
		if root, path, ok = chain(args[0]); ok {
			return root, append(slices.Clip(path), string(name)), true
		}
	}
	return "", nil, false
}
