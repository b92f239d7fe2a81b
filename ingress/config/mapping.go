package config

import (
	"cmp"
	"fmt"
	"slices"

	"cel.dev/cel-go/cel"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/celext"
)

// fieldTypes are the CEL types an action field must be able to produce; a field whose
// type is only known at run time (anything read from body) is checked when evaluated.
var fieldTypes = map[string]*cel.Type{
	"recipients": cel.ListType(cel.DynType),
	"data":       cel.MapType(cel.StringType, cel.DynType),
	"properties": cel.MapType(cel.StringType, cel.DynType),
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
		kind := a.Kind()
		if kind == "" {
			return nil, &celext.CompileError{Field: fmt.Sprintf("spec.actions[%d]", i), Message: "sets no action"}
		}
		action := Action{Kind: kind, Position: i, Literals: literals(a)}
		for _, f := range a.Expressions() {
			field := fmt.Sprintf("spec.actions[%d].%s.%s", i, kind, f.Name)
			if f.Expression == "" {
				return nil, &celext.CompileError{Field: field, Message: "is required"}
			}
			prg, err := celext.Compile(env, field, string(f.Expression), fieldTypes[f.Name])
			if err != nil {
				return nil, err
			}
			action.Fields = append(action.Fields, Field{Name: f.Name, Program: prg, Required: f.Required})
		}
		out.Actions = append(out.Actions, action)
	}
	slices.SortStableFunc(out.Actions, func(a, b Action) int { return cmp.Compare(a.Kind.Rank(), b.Kind.Rank()) })
	return out, nil
}

// literals are an action's literal names, keyed by their JSON field names.
func literals(a *v1alpha1.Action) map[string]string {
	switch {
	case a.TriggerWorkflow != nil:
		return map[string]string{"workflow": string(a.TriggerWorkflow.Workflow)}
	case a.CancelWorkflow != nil:
		return map[string]string{"workflow": string(a.CancelWorkflow.Workflow)}
	case a.SubscribeUser != nil:
		return map[string]string{"collection": string(a.SubscribeUser.Collection)}
	case a.UnsubscribeUser != nil:
		return map[string]string{"collection": string(a.UnsubscribeUser.Collection)}
	case a.SetObject != nil:
		return map[string]string{"collection": string(a.SetObject.Collection)}
	case a.DeleteObject != nil:
		return map[string]string{"collection": string(a.DeleteObject.Collection)}
	case a.AddAudienceMember != nil:
		return map[string]string{"audience": string(a.AddAudienceMember.Audience)}
	case a.RemoveAudienceMember != nil:
		return map[string]string{"audience": string(a.RemoveAudienceMember.Audience)}
	}
	return nil
}
