package ingress

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/celext"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/events"
)

// evalAction evaluates an action's fields into its parameters.
func evalAction(ctx context.Context, a config.Action, vars *celext.Vars) (map[string]any, error) {
	params := make(map[string]any, len(a.Literals)+len(a.Fields))
	for k, v := range a.Literals {
		params[k] = v
	}
	for _, f := range a.Fields {
		v, err := f.Program.EvalNative(ctx, vars)
		if err != nil {
			return nil, err
		}
		switch f.Type {
		case v1alpha1.FieldID:
			id, ok := events.ID(v)
			if !ok {
				return nil, fmt.Errorf("%s: must be a string or an integer, got %s", f.Program.Field(), typeName(v))
			}
			if id == "" && f.Required {
				return nil, fmt.Errorf("%s: is empty", f.Program.Field())
			}
			v = id
		case v1alpha1.FieldRecipients:
			list, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("%s: must be a list, got %s", f.Program.Field(), typeName(v))
			}
			if f.MaxItems > 0 && len(list) > f.MaxItems {
				return nil, fmt.Errorf("%s: %d recipients; a %s may have at most %d, so it was not published",
					f.Program.Field(), len(list), a.Kind, f.MaxItems)
			}
			// A list passed through from the body is the body's own: ids are written
			// into a copy, so that the other actions and mappings still see the body.
			list = slices.Clone(list)
			for i, r := range list {
				if id, ok := events.ID(r); ok {
					list[i] = id
				} else if _, isMap := r.(map[string]any); !isMap {
					return nil, fmt.Errorf("%s[%d]: a recipient is a user id or an object, got %s", f.Program.Field(), i, typeName(r))
				}
			}
			v = list
		case v1alpha1.FieldMap:
			if _, ok := v.(map[string]any); !ok && v != nil {
				return nil, fmt.Errorf("%s: must be a map, got %s", f.Program.Field(), typeName(v))
			}
		}
		params[f.Name] = v
	}
	return params, nil
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a bool"
	case int64, uint64, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	}
	return fmt.Sprintf("%T", v)
}

// plannedAction is one evaluated action of an event, before it is queued.
type plannedAction struct {
	mapping string
	action  config.Action
	params  map[string]any
	err     error
}

// sortActions puts an event's actions, from every mapping that matched it, in the fixed
// action order (v1alpha1.ActionOrder), keeping mapping and position order among actions
// of one kind: identify before objects and tenants, trigger last, across mappings.
func sortActions(actions []plannedAction) {
	slices.SortStableFunc(actions, func(a, b plannedAction) int {
		return cmp.Compare(a.action.Kind.Rank(), b.action.Kind.Rank())
	})
}
