package v1alpha1_test

import (
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"inlet.dev/inlet/api/v1alpha1"
)

// TestActionTypesDescribeEveryField checks the one table of actions against the API
// types: every action of Action and every field of its struct is in ActionTypes, with
// its type (a literal Key or a CEL Expression) and whether it is required (as the
// generated CRD's schema says, from the +required markers), and Value reads that very
// field.
func TestActionTypesDescribeEveryField(t *testing.T) {
	required := crdRequiredActionFields(t)
	action := reflect.TypeFor[v1alpha1.Action]()
	if action.NumField() != len(v1alpha1.ActionTypes) {
		t.Errorf("Action has %d actions, ActionTypes %d", action.NumField(), len(v1alpha1.ActionTypes))
	}
	for i := range action.NumField() {
		f := action.Field(i)
		kind := v1alpha1.ActionKind(jsonName(f))
		at := v1alpha1.ActionTypeOf(kind)
		if at == nil {
			t.Errorf("Action.%s (%s) is not in ActionTypes", f.Name, kind)
			continue
		}
		st := f.Type.Elem()
		if st.NumField() != len(at.Fields) {
			t.Errorf("%s has %d fields, ActionTypes %d", kind, st.NumField(), len(at.Fields))
		}
		for j := range st.NumField() {
			sf := st.Field(j)
			name := jsonName(sf)
			var af *v1alpha1.ActionField
			for k := range at.Fields {
				if at.Fields[k].Name == name {
					af = &at.Fields[k]
				}
			}
			if af == nil {
				t.Errorf("%s.%s is not in ActionTypes", kind, name)
				continue
			}
			if want := slices.Contains(required[string(kind)], name); af.Required != want {
				t.Errorf("%s.%s: required %t in ActionTypes, %t in the API", kind, name, af.Required, want)
			}
			switch sf.Type {
			case reflect.TypeFor[v1alpha1.Key]():
				if af.Type != v1alpha1.FieldKey {
					t.Errorf("%s.%s is a literal Key, ActionTypes says %s", kind, name, af.Type)
				}
			case reflect.TypeFor[v1alpha1.Expression]():
				if af.Type == v1alpha1.FieldKey {
					t.Errorf("%s.%s is a CEL Expression, ActionTypes says it is a literal", kind, name)
				}
			default:
				t.Errorf("%s.%s is a %s, neither a Key nor an Expression", kind, name, sf.Type)
			}

			var a v1alpha1.Action
			spec := reflect.New(st)
			spec.Elem().Field(j).SetString("value of " + name)
			reflect.ValueOf(&a).Elem().Field(i).Set(spec)
			if a.Kind() != kind {
				t.Errorf("Kind() = %q, want %q", a.Kind(), kind)
			}
			if got := a.Value(at, af); got != "value of "+name {
				t.Errorf("Value(%s.%s) = %q, want %q", kind, name, got, "value of "+name)
			}
		}
	}
	var none v1alpha1.Action
	if none.Kind() != "" || none.Type() != nil {
		t.Errorf("an empty action has kind %q", none.Kind())
	}
}

// TestActionsDocFollowsActionTypes checks that docs/actions.md's table of parameters
// and its list of id fields say what ActionTypes says.
func TestActionsDocFollowsActionTypes(t *testing.T) {
	data, err := os.ReadFile("../../docs/actions.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	var table strings.Builder
	table.WriteString("| action | params (required in bold) |\n| --- | --- |\n")
	var ids []string
	for _, at := range v1alpha1.ActionTypes {
		var params []string
		for _, f := range at.Fields {
			p := f.Name
			if f.Required {
				p = "**" + p + "**"
			}
			if f.MaxItems > 0 {
				p += " (at most " + strconv.Itoa(f.MaxItems) + ")"
			}
			params = append(params, p)
			if f.Type == v1alpha1.FieldID && !slices.Contains(ids, "`"+f.Name+"`") {
				ids = append(ids, "`"+f.Name+"`")
			}
		}
		table.WriteString("| `" + string(at.Kind) + "` | " + strings.Join(params, ", ") + " |\n")
	}
	if !strings.Contains(doc, table.String()) {
		t.Errorf("docs/actions.md lacks this table of parameters:\n%s", table.String())
	}
	if want := "Ids (" + strings.Join(ids, ", ") + ")"; !strings.Contains(doc, want) {
		t.Errorf("docs/actions.md lacks %q", want)
	}
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// TestActionSchemaAllowsEveryAction checks that the schema's exactly-one-action rule
// (the XValidation marker on Action) names every action of ActionTypes.
func TestActionSchemaAllowsEveryAction(t *testing.T) {
	data, err := os.ReadFile("../../config/crd/bases/inlet.dev_eventmappings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range v1alpha1.ActionTypes {
		if !strings.Contains(string(data), "has(self."+string(at.Kind)+")") {
			t.Errorf("the EventMapping schema's rule on actions does not name %s", at.Kind)
		}
	}
}

// crdRequiredActionFields reads, from the generated EventMapping CRD, each action's
// required fields: the API as users and the API server see it.
func crdRequiredActionFields(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile("../../config/crd/bases/inlet.dev_eventmappings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	actions := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["actions"].Items.Schema.Properties
	out := map[string][]string{}
	for kind, schema := range actions {
		out[kind] = schema.Required
	}
	if len(out) == 0 {
		t.Fatal("the EventMapping CRD has no actions")
	}
	return out
}
