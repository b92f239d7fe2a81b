package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxRecipients is the most recipients one triggerWorkflow action may have; a trigger
// with more is not published and is logged as an error.
const MaxRecipients = 1000

// EventMappingSpec maps one event type of one SourceEnvironment to actions.
type EventMappingSpec struct {
	// sourceEnvironmentRef names the SourceEnvironment, in the same namespace, whose
	// events this mapping handles.
	// +required
	SourceEnvironmentRef LocalObjectReference `json:"sourceEnvironmentRef,omitzero"`

	// eventType is the event type this mapping handles, exactly as the source names it:
	// customer.subscription.deleted for Stripe, user.created for Clerk, the track event
	// name or identify/group/page for Segment-spec sources, auth.users:INSERT for
	// Supabase.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	EventType string `json:"eventType,omitempty"`

	// when is an optional CEL condition; the actions run only for events where it is
	// true, e.g. body.data.object.cancel_at_period_end == false.
	// +optional
	When Expression `json:"when,omitempty"`

	// actions are what the event turns into. They are published in a fixed order,
	// whatever their order here: identifyUser; setObject, deleteObject; setTenant,
	// deleteTenant; subscribeUser, unsubscribeUser; addAudienceMember,
	// removeAudienceMember; cancelWorkflow; triggerWorkflow, so that users exist before
	// a workflow is triggered for them.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	Actions []Action `json:"actions,omitempty"`
}

// Action is one thing an event turns into. Exactly one field is set. Fields of type
// Expression are CEL; names of workflows, collections and audiences are literal.
// +kubebuilder:validation:XValidation:rule="[has(self.triggerWorkflow), has(self.cancelWorkflow), has(self.identifyUser), has(self.subscribeUser), has(self.unsubscribeUser), has(self.setObject), has(self.deleteObject), has(self.setTenant), has(self.deleteTenant), has(self.addAudienceMember), has(self.removeAudienceMember)].filter(x, x).size() == 1",message="each action sets exactly one of triggerWorkflow, cancelWorkflow, identifyUser, subscribeUser, unsubscribeUser, setObject, deleteObject, setTenant, deleteTenant, addAudienceMember, removeAudienceMember"
type Action struct {
	// triggerWorkflow runs a workflow for recipients.
	// +optional
	TriggerWorkflow *TriggerWorkflowAction `json:"triggerWorkflow,omitempty"`

	// cancelWorkflow cancels workflow runs started with a cancellation key.
	// +optional
	CancelWorkflow *CancelWorkflowAction `json:"cancelWorkflow,omitempty"`

	// identifyUser creates or updates a user.
	// +optional
	IdentifyUser *IdentifyUserAction `json:"identifyUser,omitempty"`

	// subscribeUser subscribes recipients to an object.
	// +optional
	SubscribeUser *SubscriptionAction `json:"subscribeUser,omitempty"`

	// unsubscribeUser unsubscribes recipients from an object.
	// +optional
	UnsubscribeUser *SubscriptionAction `json:"unsubscribeUser,omitempty"`

	// setObject creates or updates an object in a collection.
	// +optional
	SetObject *SetObjectAction `json:"setObject,omitempty"`

	// deleteObject deletes an object from a collection.
	// +optional
	DeleteObject *DeleteObjectAction `json:"deleteObject,omitempty"`

	// setTenant creates or updates a tenant.
	// +optional
	SetTenant *SetTenantAction `json:"setTenant,omitempty"`

	// deleteTenant deletes a tenant.
	// +optional
	DeleteTenant *DeleteTenantAction `json:"deleteTenant,omitempty"`

	// addAudienceMember adds a user to an audience.
	// +optional
	AddAudienceMember *AudienceMemberAction `json:"addAudienceMember,omitempty"`

	// removeAudienceMember removes a user from an audience.
	// +optional
	RemoveAudienceMember *AudienceMemberAction `json:"removeAudienceMember,omitempty"`
}

// Key is a literal name: a workflow, collection or audience key.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=255
// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][-_.A-Za-z0-9]*$`
type Key string

// TriggerWorkflowAction runs a workflow.
type TriggerWorkflowAction struct {
	// workflow is the key of the workflow to run.
	// +required
	Workflow Key `json:"workflow,omitempty"`

	// recipients is a CEL expression giving a list of user ids (or recipient objects);
	// at most 1000. E.g. [body.data.object.customer].
	// +required
	Recipients Expression `json:"recipients,omitempty"`

	// actor is a CEL expression giving the user id of who caused the event.
	// +optional
	Actor Expression `json:"actor,omitempty"`

	// tenant is a CEL expression giving the tenant id the workflow runs in.
	// +optional
	Tenant Expression `json:"tenant,omitempty"`

	// data is a CEL expression giving a map passed to the workflow, e.g.
	// {"plan": body.data.object.plan.id}.
	// +optional
	Data Expression `json:"data,omitempty"`

	// cancellationKey is a CEL expression giving a key a later cancelWorkflow can use.
	// +optional
	CancellationKey Expression `json:"cancellationKey,omitempty"`
}

// CancelWorkflowAction cancels workflow runs.
type CancelWorkflowAction struct {
	// workflow is the key of the workflow whose runs are cancelled.
	// +required
	Workflow Key `json:"workflow,omitempty"`

	// cancellationKey is a CEL expression giving the key the runs were triggered with.
	// +required
	CancellationKey Expression `json:"cancellationKey,omitempty"`

	// recipients is a CEL expression giving the user ids whose runs are cancelled;
	// all runs with the key when unset.
	// +optional
	Recipients Expression `json:"recipients,omitempty"`
}

// IdentifyUserAction creates or updates a user.
type IdentifyUserAction struct {
	// id is a CEL expression giving the user's id.
	// +required
	ID Expression `json:"id,omitempty"`

	// properties is a CEL expression giving a map of the user's properties, such as
	// {"email": body.data.email_addresses[0].email_address, "name": body.data.first_name}.
	// +optional
	Properties Expression `json:"properties,omitempty"`
}

// SubscriptionAction subscribes recipients to, or unsubscribes them from, an object.
type SubscriptionAction struct {
	// collection is the object's collection.
	// +required
	Collection Key `json:"collection,omitempty"`

	// objectId is a CEL expression giving the object's id.
	// +required
	ObjectID Expression `json:"objectId,omitempty"`

	// recipients is a CEL expression giving a list of user ids.
	// +required
	Recipients Expression `json:"recipients,omitempty"`

	// properties is a CEL expression giving a map stored on the subscription.
	// +optional
	Properties Expression `json:"properties,omitempty"`
}

// SetObjectAction creates or updates an object.
type SetObjectAction struct {
	// collection is the object's collection.
	// +required
	Collection Key `json:"collection,omitempty"`

	// id is a CEL expression giving the object's id.
	// +required
	ID Expression `json:"id,omitempty"`

	// properties is a CEL expression giving a map of the object's properties.
	// +optional
	Properties Expression `json:"properties,omitempty"`
}

// DeleteObjectAction deletes an object.
type DeleteObjectAction struct {
	// collection is the object's collection.
	// +required
	Collection Key `json:"collection,omitempty"`

	// id is a CEL expression giving the object's id.
	// +required
	ID Expression `json:"id,omitempty"`
}

// SetTenantAction creates or updates a tenant.
type SetTenantAction struct {
	// id is a CEL expression giving the tenant's id.
	// +required
	ID Expression `json:"id,omitempty"`

	// properties is a CEL expression giving a map of the tenant's properties, such as
	// {"name": body.data.name}.
	// +optional
	Properties Expression `json:"properties,omitempty"`
}

// DeleteTenantAction deletes a tenant.
type DeleteTenantAction struct {
	// id is a CEL expression giving the tenant's id.
	// +required
	ID Expression `json:"id,omitempty"`
}

// AudienceMemberAction adds a user to, or removes a user from, an audience.
type AudienceMemberAction struct {
	// audience is the audience's key.
	// +required
	Audience Key `json:"audience,omitempty"`

	// userId is a CEL expression giving the user's id.
	// +required
	UserID Expression `json:"userId,omitempty"`

	// tenant is a CEL expression giving the tenant the membership is scoped to.
	// +optional
	Tenant Expression `json:"tenant,omitempty"`
}

// EventMappingStatus is the observed state of an EventMapping.
type EventMappingStatus struct {
	// conditions say whether the mapping compiles and is live (Ready); when an
	// expression does not compile, the Ready message names the field and position.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the generation of the spec this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// actionCount is the number of actions in the mapping.
	// +optional
	ActionCount int32 `json:"actionCount,omitempty"`

	// eventsMatched counts the events this mapping's when condition accepted since its
	// SourceEnvironment was created, by all its ingress pods, including those since
	// replaced: it never goes backwards when pods are rolled, deleted or scaled.
	// +optional
	EventsMatched int64 `json:"eventsMatched,omitempty"`

	// lastMatchTime is when an event last matched.
	// +optional
	LastMatchTime *metav1.Time `json:"lastMatchTime,omitempty"`
}

// EventMapping turns one event type of one SourceEnvironment into actions: an optional
// CEL condition and one or more actions whose fields are CEL expressions.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=evm;emap,categories=inlet
// +kubebuilder:printcolumn:name="Source Environment",type=string,JSONPath=`.spec.sourceEnvironmentRef.name`
// +kubebuilder:printcolumn:name="Event Type",type=string,JSONPath=`.spec.eventType`
// +kubebuilder:printcolumn:name="Actions",type=integer,JSONPath=`.status.actionCount`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Matched",type=integer,JSONPath=`.status.eventsMatched`,priority=1
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type EventMapping struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec is the mapping.
	// +required
	Spec EventMappingSpec `json:"spec,omitzero"`

	// status is what the operator observed.
	// +optional
	Status EventMappingStatus `json:"status,omitzero"`
}

// EventMappingList is a list of EventMappings.
// +kubebuilder:object:root=true
type EventMappingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []EventMapping `json:"items"`
}
