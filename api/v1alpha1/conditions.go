package v1alpha1

// Condition types. Every kind reports ConditionReady; a SourceEnvironment also reports
// the other three so that `kubectl describe` says which part is not working.
const (
	// ConditionReady is True when the resource is fully working: a Source is valid, a
	// SourceEnvironment receives and publishes events, an EventMapping is compiled and
	// live in its SourceEnvironment's ingress.
	ConditionReady = "Ready"

	// ConditionIngressAvailable is True when the SourceEnvironment's ingress has at
	// least one ready replica.
	ConditionIngressAvailable = "IngressAvailable"

	// ConditionStreamsReady is True when the JetStream streams the SourceEnvironment
	// publishes to exist with the configuration the operator wants.
	ConditionStreamsReady = "StreamsReady"

	// ConditionIdempotencyWithinBudget is False when the idempotency keys the action
	// stream's duplicate window holds (one per event stored within the window) exceed
	// the operator's memory budget for them.
	ConditionIdempotencyWithinBudget = "IdempotencyWithinBudget"
)

// Condition reasons. A reason is a single CamelCase word that says why a condition has
// its status; the condition's message says what to do about it.
const (
	// ReasonReady says the resource works.
	ReasonReady = "Ready"
	// ReasonReconciling says the operator is still bringing the resource up.
	ReasonReconciling = "Reconciling"
	// ReasonInvalidExpression says a CEL expression does not compile; the message names
	// the field and the position.
	ReasonInvalidExpression = "InvalidExpression"
	// ReasonInvalidSpec says the spec is inconsistent in a way the schema cannot catch.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonSourceNotFound says the referenced Source does not exist.
	ReasonSourceNotFound = "SourceNotFound"
	// ReasonSourceEnvironmentNotFound says the referenced SourceEnvironment does not exist.
	ReasonSourceEnvironmentNotFound = "SourceEnvironmentNotFound"
	// ReasonSourceEnvironmentNotReady says an EventMapping compiles but is not served:
	// its SourceEnvironment is not Ready; the message gives that condition's reason.
	ReasonSourceEnvironmentNotReady = "SourceEnvironmentNotReady"
	// ReasonSecretNotFound says a referenced Secret, or a key in it, does not exist.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonNATSUnavailable says NATS JetStream cannot be reached; the message names the
	// server (without credentials) and the error. A SourceEnvironment's Ready condition
	// gives this reason before any ingress one: ingress pods are not ready without NATS.
	ReasonNATSUnavailable = "NATSUnavailable"
	// ReasonNATSError says NATS was reached but refused to create or update a stream:
	// JetStream is not enabled, the credentials lack a permission, or another stream
	// already captures the subjects. The message has NATS's own error.
	ReasonNATSError = "NATSError"
	// ReasonStreamsReady says the streams exist as configured.
	ReasonStreamsReady = "StreamsReady"
	// ReasonDeploymentUnavailable says the ingress Deployment has no ready replica.
	ReasonDeploymentUnavailable = "DeploymentUnavailable"
	// ReasonDeploymentAvailable says the ingress Deployment has a ready replica.
	ReasonDeploymentAvailable = "DeploymentAvailable"
	// ReasonWithinBudget says the duplicate window holds fewer keys than the budget.
	ReasonWithinBudget = "WithinBudget"
	// ReasonOverBudget says the duplicate window holds more keys than the budget.
	ReasonOverBudget = "OverBudget"
	// ReasonInProcess is the IngressAvailable reason in in-process mode (inlet cluster):
	// the ingress runs inside the operator's process, so there is no Deployment to wait
	// for.
	ReasonInProcess = "InProcess"
)

// Event reasons beyond the condition reasons above, which Events on
// condition transitions use as they are.
const (
	// EventSecretMissing is a Warning: a Secret, or a key in it, that a
	// SourceEnvironment references does not exist.
	EventSecretMissing = "SecretMissing"
	// EventStreamCreated is Normal: the operator created a JetStream stream.
	EventStreamCreated = "StreamCreated"
	// EventStreamRecreated is Normal: a stream that had been ready disappeared (deleted
	// behind the operator's back) and the operator created it again. Actions published
	// to the old stream and not yet consumed are lost.
	EventStreamRecreated = "StreamRecreated"
	// EventStreamUpdated is Normal: the operator changed a stream's configuration, such
	// as its duplicate window.
	EventStreamUpdated = "StreamUpdated"
	// EventEndpointTokenCreated is Normal: the operator generated an endpoint token
	// into its Secret. The token itself never appears in events.
	EventEndpointTokenCreated = "EndpointTokenCreated"
	// EventStatsCleanupFailed is a Warning: the operator could not remove a deleted
	// SourceEnvironment's counters from NATS; they stay in the INLET_STATS bucket (a
	// SourceEnvironment created again under the same name starts from zero anyway).
	EventStatsCleanupFailed = "StatsCleanupFailed"
)
