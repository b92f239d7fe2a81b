package v1alpha1

import (
	"reflect"
	"strings"
)

// ActionKind names one of the eleven actions. It is the last element of the subject an
// action is published on: inlet.actions.<environment>.<kind>.
type ActionKind string

// The action kinds, named as the Action fields that set them.
const (
	ActionIdentifyUser         ActionKind = "identifyUser"
	ActionSetObject            ActionKind = "setObject"
	ActionDeleteObject         ActionKind = "deleteObject"
	ActionSetTenant            ActionKind = "setTenant"
	ActionDeleteTenant         ActionKind = "deleteTenant"
	ActionSubscribeUser        ActionKind = "subscribeUser"
	ActionUnsubscribeUser      ActionKind = "unsubscribeUser"
	ActionAddAudienceMember    ActionKind = "addAudienceMember"
	ActionRemoveAudienceMember ActionKind = "removeAudienceMember"
	ActionCancelWorkflow       ActionKind = "cancelWorkflow"
	ActionTriggerWorkflow      ActionKind = "triggerWorkflow"
)

// FieldType is what an action field holds, and so how it is compiled, evaluated and
// checked.
type FieldType string

const (
	// FieldKey is a literal name (a Key): a workflow, collection or audience key. It is
	// published as written.
	FieldKey FieldType = "key"
	// FieldID is a CEL expression giving an id: a string, or an integer, published in
	// decimal without exponent, by the rule the idempotency key and user id of every
	// source type follow.
	FieldID FieldType = "id"
	// FieldRecipients is a CEL expression giving a list of user ids (published as
	// strings, as FieldID) or recipient objects (maps).
	FieldRecipients FieldType = "recipients"
	// FieldMap is a CEL expression giving a map (or null).
	FieldMap FieldType = "map"
)

// ActionField describes one field of an action.
// +kubebuilder:object:generate=false
type ActionField struct {
	// Name is the field's JSON name, also its name in the published params.
	Name string
	// Type says what the field holds.
	Type FieldType
	// Required says the action cannot be published without it.
	Required bool
	// MaxItems, when positive, bounds a list: an action whose list is longer is not
	// published.
	MaxItems int

	index int // in the action's struct
}

// ActionType describes one action: its kind and its fields.
// +kubebuilder:object:generate=false
type ActionType struct {
	// Kind is the action's kind, also its field's JSON name in Action.
	Kind ActionKind
	// Fields are the action's fields: literal names first, then the CEL fields, in the
	// order they are compiled, evaluated and reported.
	Fields []ActionField

	index int // in Action
}

func required(name string, t FieldType) ActionField {
	return ActionField{Name: name, Type: t, Required: true}
}
func optional(name string, t FieldType) ActionField { return ActionField{Name: name, Type: t} }

// ActionTypes is the one description of every action and its fields, in the fixed
// order actions are published in, Knock's: users exist, objects and tenants are set,
// subscriptions and audiences are updated, and only then are workflows cancelled and
// triggered. Compiling a mapping (ingress/config), evaluating its actions (ingress) and
// the parameter table of docs/actions.md all follow it; a test checks that it holds
// every field of every action, as the API types declare them.
var ActionTypes = []ActionType{
	{Kind: ActionIdentifyUser, Fields: []ActionField{
		required("id", FieldID), optional("properties", FieldMap)}},
	{Kind: ActionSetObject, Fields: []ActionField{
		required("collection", FieldKey), required("id", FieldID), optional("properties", FieldMap)}},
	{Kind: ActionDeleteObject, Fields: []ActionField{
		required("collection", FieldKey), required("id", FieldID)}},
	{Kind: ActionSetTenant, Fields: []ActionField{
		required("id", FieldID), optional("properties", FieldMap)}},
	{Kind: ActionDeleteTenant, Fields: []ActionField{
		required("id", FieldID)}},
	{Kind: ActionSubscribeUser, Fields: []ActionField{
		required("collection", FieldKey), required("objectId", FieldID), required("recipients", FieldRecipients), optional("properties", FieldMap)}},
	{Kind: ActionUnsubscribeUser, Fields: []ActionField{
		required("collection", FieldKey), required("objectId", FieldID), required("recipients", FieldRecipients), optional("properties", FieldMap)}},
	{Kind: ActionAddAudienceMember, Fields: []ActionField{
		required("audience", FieldKey), required("userId", FieldID), optional("tenant", FieldID)}},
	{Kind: ActionRemoveAudienceMember, Fields: []ActionField{
		required("audience", FieldKey), required("userId", FieldID), optional("tenant", FieldID)}},
	{Kind: ActionCancelWorkflow, Fields: []ActionField{
		required("workflow", FieldKey), required("cancellationKey", FieldID), optional("recipients", FieldRecipients)}},
	{Kind: ActionTriggerWorkflow, Fields: []ActionField{
		required("workflow", FieldKey),
		{Name: "recipients", Type: FieldRecipients, Required: true, MaxItems: MaxRecipients},
		optional("actor", FieldID), optional("tenant", FieldID), optional("data", FieldMap), optional("cancellationKey", FieldID)}},
}

// ActionOrder is the fixed order actions are published in: ActionTypes' kinds.
var ActionOrder = func() []ActionKind {
	kinds := make([]ActionKind, len(ActionTypes))
	for i, t := range ActionTypes {
		kinds[i] = t.Kind
	}
	return kinds
}()

// Where each kind and field is in the API structs, found once by JSON name; -1 for a
// name the structs do not have (TestActionTypes fails on it).
func init() {
	action := reflect.TypeFor[Action]()
	for i := range ActionTypes {
		t := &ActionTypes[i]
		f, ok := fieldByJSONName(action, string(t.Kind))
		t.index = -1
		if ok && f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct {
			t.index = f.Index[0]
		}
		for j := range t.Fields {
			t.Fields[j].index = -1
			if t.index < 0 {
				continue
			}
			if sf, ok := fieldByJSONName(f.Type.Elem(), t.Fields[j].Name); ok && sf.Type.Kind() == reflect.String {
				t.Fields[j].index = sf.Index[0]
			}
		}
	}
}

func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	for f := range t.Fields() {
		if n, _, _ := strings.Cut(f.Tag.Get("json"), ","); n == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// ActionTypeOf returns the type of an action kind, or nil for an unknown kind.
func ActionTypeOf(kind ActionKind) *ActionType {
	for i := range ActionTypes {
		if ActionTypes[i].Kind == kind {
			return &ActionTypes[i]
		}
	}
	return nil
}

// Rank is the kind's position in ActionOrder; an unknown kind ranks last.
func (k ActionKind) Rank() int {
	for i := range ActionTypes {
		if ActionTypes[i].Kind == k {
			return i
		}
	}
	return len(ActionTypes)
}

// Type reports which action a is, or nil when no action field is set. The schema
// guarantees exactly one is set on stored objects; with several, the first in
// publishing order wins.
func (a *Action) Type() *ActionType {
	v := reflect.ValueOf(a).Elem()
	for i := range ActionTypes {
		if t := &ActionTypes[i]; t.index >= 0 && !v.Field(t.index).IsNil() {
			return t
		}
	}
	return nil
}

// Kind reports which action a is, or "" when no field is set.
func (a *Action) Kind() ActionKind {
	if t := a.Type(); t != nil {
		return t.Kind
	}
	return ""
}

// Value returns the value of one of the fields of a's type t: the literal name or the
// CEL source, "" when unset (or when a is not of type t).
func (a *Action) Value(t *ActionType, f *ActionField) string {
	if t.index < 0 || f.index < 0 {
		return ""
	}
	s := reflect.ValueOf(a).Elem().Field(t.index)
	if s.IsNil() || f.index >= s.Elem().NumField() {
		return ""
	}
	v := s.Elem().Field(f.index)
	if v.Kind() != reflect.String {
		return ""
	}
	return v.String()
}
