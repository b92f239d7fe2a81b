package celext_test

import (
	"errors"
	"testing"

	"cel.dev/cel-go/cel"

	"inlet.dev/inlet/ingress/celext"
)

func TestCompileError(t *testing.T) {
	const recipients = "spec.actions[0].triggerWorkflow.recipients"
	tests := map[string]struct {
		field string
		expr  string
		want  *cel.Type
		err   celext.CompileError
		text  string
	}{
		"undeclared variable": {
			field: recipients,
			expr:  "size(bdy) > 0",
			err:   celext.CompileError{Field: recipients, Line: 1, Column: 6, Message: "undeclared reference to 'bdy' (did you mean 'body'?)"},
			text:  "spec.actions[0].triggerWorkflow.recipients: line 1, column 6: undeclared reference to 'bdy' (did you mean 'body'?)",
		},
		"undeclared variable inside a list": {
			field: recipients,
			expr:  "[body.data.object.customer, bdy.id]",
			want:  cel.ListType(cel.StringType),
			err:   celext.CompileError{Field: recipients, Line: 1, Column: 29, Message: "undeclared reference to 'bdy' (did you mean 'body'?)"},
		},
		"multi-line, unknown function": {
			field: "spec.when",
			expr:  "body.type == 'a' &&\n  body.data.object.foo == 1 &&\n  unknownFn(1)",
			want:  cel.BoolType,
			err:   celext.CompileError{Field: "spec.when", Line: 3, Column: 12, Message: "undeclared reference to 'unknownFn'"},
			text:  "spec.when: line 3, column 12: undeclared reference to 'unknownFn'",
		},
		"multi-line, the first of two errors": {
			field: "spec.when",
			expr:  "body.type == 'a' &&\n\tnope == 1 &&\n  headers['x'] + 1 == 2",
			want:  cel.BoolType,
			err:   celext.CompileError{Field: "spec.when", Line: 2, Column: 2, Message: "undeclared reference to 'nope'"},
		},
		"syntax error": {
			field: "spec.when",
			expr:  "body.type ==",
			err: celext.CompileError{Field: "spec.when", Line: 1, Column: 13,
				Message: "Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}"},
		},
		"no such overload": {
			field: "spec.preprocess",
			expr:  "secureCompare(headers['x-token'], b'secret')",
			err:   celext.CompileError{Field: "spec.preprocess", Line: 1, Column: 14, Message: "found no matching overload for 'secureCompare' applied to '(string, bytes)'"},
		},
		"invalid regular expression literal": {
			field: "spec.when",
			expr:  "body.type.matches('[')",
			err:   celext.CompileError{Field: "spec.when", Line: 1, Column: 19, Message: "invalid matches argument"},
		},
		"wrong result type": {
			field: "spec.when",
			expr:  "body.type + '.x'",
			want:  cel.BoolType,
			err:   celext.CompileError{Field: "spec.when", Message: "must be a bool, got string"},
			text:  "spec.when: must be a bool, got string",
		},
		"wrong element type": {
			field: recipients,
			expr:  "[1, 2]",
			want:  cel.ListType(cel.StringType),
			err:   celext.CompileError{Field: recipients, Message: "must be a list(string), got list(int)"},
		},
		"an int": {
			field: "spec.x",
			expr:  "'a'",
			want:  cel.IntType,
			err:   celext.CompileError{Field: "spec.x", Message: "must be an int, got string"},
		},
		"optional is not its value": {
			field: "spec.x",
			expr:  "body.?user_id",
			want:  cel.StringType,
			err:   celext.CompileError{Field: "spec.x", Message: "must be a string, got optional_type(dyn)"},
		},
		"empty": {
			field: "spec.when",
			expr:  " \n\t",
			want:  cel.BoolType,
			err:   celext.CompileError{Field: "spec.when", Message: "expression is empty"},
			text:  "spec.when: expression is empty",
		},
	}
	env, err := celext.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := celext.Compile(env, tc.field, tc.expr, tc.want)
			var ce *celext.CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *CompileError", err)
			}
			if *ce != tc.err {
				t.Errorf("got  %#v\nwant %#v", *ce, tc.err)
			}
			if tc.text != "" && err.Error() != tc.text {
				t.Errorf("Error() = %q, want %q", err.Error(), tc.text)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	tests := map[string]struct {
		expr string
		want *cel.Type
	}{
		"Knock path":                    {expr: "body.data.object.customer", want: cel.StringType},
		"Knock path in a list":          {expr: "[body.data.object.customer]", want: cel.ListType(cel.StringType)},
		"dyn list for list(string)":     {expr: "body.data.object.items.map(i, i.id)", want: cel.ListType(cel.StringType)},
		"condition":                     {expr: "body.data.object.cancel_at_period_end == false", want: cel.BoolType},
		"JSON number against an int":    {expr: "body.data.object.quantity > 1", want: cel.BoolType},
		"int against a double":          {expr: "1 < 2.0", want: cel.BoolType},
		"map for data":                  {expr: `{"plan": body.data.object.plan.id, "n": 1}`, want: cel.MapType(cel.StringType, cel.DynType)},
		"any type":                      {expr: "rawBody"},
		"optional syntax":               {expr: "body.?data.?object.?customer.orValue('')", want: cel.StringType},
		"headers and vars":              {expr: "headers['x-token'] == vars.token", want: cel.BoolType},
		"preprocess and event":          {expr: "preprocess.verified && event.type == 'x'", want: cel.BoolType},
		"cel.bind":                      {expr: "cel.bind(o, body.data.object, o.customer + o.id)", want: cel.StringType},
		"strings extension":             {expr: "body.email.lowerAscii().split('@')[1]", want: cel.StringType},
		"math and sets and lists":       {expr: "math.greatest(1, 2) == 2 && sets.contains([1, 2], [1]) && [3, 1].sort() == [1, 3]", want: cel.BoolType},
		"base64":                        {expr: "base64.encode(rawBody)", want: cel.StringType},
		"reserved word as key with [] ": {expr: "body['in']", want: cel.DynType},
	}
	env, err := celext.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			prg, err := celext.Compile(env, "spec.x", tc.expr, tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if prg.Field() != "spec.x" {
				t.Errorf("Field() = %q", prg.Field())
			}
		})
	}
}

func TestNewEnvIsShared(t *testing.T) {
	a, err := celext.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := celext.NewEnv()
	if a != b {
		t.Error("NewEnv built a second environment")
	}
	if _, err := celext.Compile(nil, "spec.x", "1", nil); err == nil {
		t.Error("Compile with a nil env: got no error")
	}
}
