package config

import (
	"cmp"
	"fmt"
	"slices"

	"cel.dev/cel-go/cel"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/celext"
)

// celType is the CEL type a field must be able to produce; nil for a field whose type
// is only known at run time (an id may be a string or an integer; anything read from
// body is dyn): those are checked when evaluated.
func celType(t v1alpha1.FieldType) *cel.Type {
	switch t {
	case v1alpha1.FieldRecipients:
		return cel.ListType(cel.DynType)
	case v1alpha1.FieldMap:
		return cel.MapType(cel.StringType, cel.DynType)
	}
	return nil
}

// CompileMapping compiles an EventMapping's CEL with the environment the ingress uses.
// The error, a *celext.CompileError, names the first field that does not compile
// (spec.actions[1].triggerWorkflow.recipients) and the position in it.
func CompileMapping(env *cel.Env, m *v1alpha1.EventMapping) (*Mapping, error) {
	if env == nil {
		var err error
		if env, err = celext.NewEnv(); err != nil {
			return nil, err
		}
	}
	out := &Mapping{Name: m.Name, Generation: m.Generation, EventType: m.Spec.EventType}
	if m.Spec.When != "" {
		prg, err := celext.Compile(env, "spec.when", string(m.Spec.When), cel.BoolType)
		if err != nil {
			return nil, err
		}
		out.When = prg
	}
	if len(m.Spec.Actions) == 0 {
		return nil, &celext.CompileError{Field: "spec.actions", Message: "at least one action is required"}
	}
	for i := range m.Spec.Actions {
		a := &m.Spec.Actions[i]
		t := a.Type()
		if t == nil {
			return nil, &celext.CompileError{Field: fmt.Sprintf("spec.actions[%d]", i), Message: "sets no action"}
		}
		action := Action{Kind: t.Kind, Position: i}
		for j := range t.Fields {
			f := &t.Fields[j]
			value := a.Value(t, f)
			if f.Type == v1alpha1.FieldKey {
				if action.Literals == nil {
					action.Literals = make(map[string]string, 1)
				}
				action.Literals[f.Name] = value
				continue
			}
			field := fmt.Sprintf("spec.actions[%d].%s.%s", i, t.Kind, f.Name)
			if value == "" {
				if f.Required {
					return nil, &celext.CompileError{Field: field, Message: "is required"}
				}
				continue
			}
			prg, err := celext.Compile(env, field, value, celType(f.Type))
			if err != nil {
				return nil, err
			}
			action.Fields = append(action.Fields, Field{ActionField: f, Program: prg})
		}
		out.Actions = append(out.Actions, action)
	}
	slices.SortStableFunc(out.Actions, func(a, b Action) int { return cmp.Compare(a.Kind.Rank(), b.Kind.Rank()) })
	return out, nil
}
