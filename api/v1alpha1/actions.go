package v1alpha1

import "slices"

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

// ActionOrder is the fixed order actions are published in, Knock's: users exist, objects
// and tenants are set, subscriptions and audiences are updated, and only then are
// workflows cancelled and triggered.
var ActionOrder = []ActionKind{
	ActionIdentifyUser,
	ActionSetObject, ActionDeleteObject,
	ActionSetTenant, ActionDeleteTenant,
	ActionSubscribeUser, ActionUnsubscribeUser,
	ActionAddAudienceMember, ActionRemoveAudienceMember,
	ActionCancelWorkflow,
	ActionTriggerWorkflow,
}

// Rank is the kind's position in ActionOrder; an unknown kind ranks last.
func (k ActionKind) Rank() int {
	if i := slices.Index(ActionOrder, k); i >= 0 {
		return i
	}
	return len(ActionOrder)
}

// Kind reports which action a is, or "" when no field is set. The schema guarantees
// exactly one is set on stored objects.
func (a *Action) Kind() ActionKind {
	switch {
	case a.IdentifyUser != nil:
		return ActionIdentifyUser
	case a.SetObject != nil:
		return ActionSetObject
	case a.DeleteObject != nil:
		return ActionDeleteObject
	case a.SetTenant != nil:
		return ActionSetTenant
	case a.DeleteTenant != nil:
		return ActionDeleteTenant
	case a.SubscribeUser != nil:
		return ActionSubscribeUser
	case a.UnsubscribeUser != nil:
		return ActionUnsubscribeUser
	case a.AddAudienceMember != nil:
		return ActionAddAudienceMember
	case a.RemoveAudienceMember != nil:
		return ActionRemoveAudienceMember
	case a.CancelWorkflow != nil:
		return ActionCancelWorkflow
	case a.TriggerWorkflow != nil:
		return ActionTriggerWorkflow
	}
	return ""
}

// ExpressionField is one CEL expression of an action, with the name of its field.
type ExpressionField struct {
	// Name is the field's JSON name, e.g. "recipients".
	Name string
	// Expression is the CEL source.
	Expression Expression
	// Required says the action cannot be published without it.
	Required bool
}

// Expressions lists the action's CEL fields that are set, in a stable order, so that
// the operator and the ingress compile and report them alike.
func (a *Action) Expressions() []ExpressionField {
	var fs []ExpressionField
	add := func(name string, e Expression, required bool) {
		if e != "" || required {
			fs = append(fs, ExpressionField{Name: name, Expression: e, Required: required})
		}
	}
	switch {
	case a.TriggerWorkflow != nil:
		t := a.TriggerWorkflow
		add("recipients", t.Recipients, true)
		add("actor", t.Actor, false)
		add("tenant", t.Tenant, false)
		add("data", t.Data, false)
		add("cancellationKey", t.CancellationKey, false)
	case a.CancelWorkflow != nil:
		c := a.CancelWorkflow
		add("cancellationKey", c.CancellationKey, true)
		add("recipients", c.Recipients, false)
	case a.IdentifyUser != nil:
		add("id", a.IdentifyUser.ID, true)
		add("properties", a.IdentifyUser.Properties, false)
	case a.SubscribeUser != nil || a.UnsubscribeUser != nil:
		s := a.SubscribeUser
		if s == nil {
			s = a.UnsubscribeUser
		}
		add("objectId", s.ObjectID, true)
		add("recipients", s.Recipients, true)
		add("properties", s.Properties, false)
	case a.SetObject != nil:
		add("id", a.SetObject.ID, true)
		add("properties", a.SetObject.Properties, false)
	case a.DeleteObject != nil:
		add("id", a.DeleteObject.ID, true)
	case a.SetTenant != nil:
		add("id", a.SetTenant.ID, true)
		add("properties", a.SetTenant.Properties, false)
	case a.DeleteTenant != nil:
		add("id", a.DeleteTenant.ID, true)
	case a.AddAudienceMember != nil || a.RemoveAudienceMember != nil:
		m := a.AddAudienceMember
		if m == nil {
			m = a.RemoveAudienceMember
		}
		add("userId", m.UserID, true)
		add("tenant", m.Tenant, false)
	}
	return fs
}
