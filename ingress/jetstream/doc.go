// Package jetstream connects inlet to NATS JetStream: the subjects actions and
// logs are published on, the streams that hold them, a client that publishes
// with acknowledgements, readers for the logs, and an embedded server for
// tests and the local run. It is built on nats.go's jetstream package.
//
// # Subjects
//
// Actions are published on "inlet.actions.<environment>.<action>"
// ([ActionSubject]), event log records on
// "inlet.logs.events.<namespace>.<sourceEnvironment>.<eventID>"
// ([EventLogSubject]) and action log records on
// "inlet.logs.actions.<namespace>.<sourceEnvironment>.<eventID>"
// ([ActionLogSubject]). Every token is escaped deterministically so that no
// input can add a token or a wildcard: '.' in a Kubernetes name becomes '_',
// and other bytes outside [A-Za-z0-9_-] become %XX. [EventLogFilter] and
// [ActionLogFilter] match one SourceEnvironment's records.
//
// # Streams
//
// Two streams, both with limits retention and the oldest messages discarded
// first. The action stream ([ActionStreamConfig], subjects "inlet.actions.*.*")
// has the idempotency window as its duplicate window and keeps messages at
// least that long; split into partitions ([ActionStreamConfigs]), it is one
// stream per partition, "<name>_P<p>" capturing "inlet.actions.*.*.<p>", and an
// event goes whole to the partition of its de-duplication id ([Partition]). The log stream ([LogStreamConfig], subjects "inlet.logs.>")
// keeps records for its retention and up to a size bound ([DefaultLogMaxBytes]),
// so that logs never take the storage the actions need. The operator applies
// them with [EnsureStream], which reports whether a stream was created, updated
// or left unchanged, and never downgrades a stream it finds: replicas are only
// raised, and a stream's storage and placement are kept unless asked for.
//
// On a replicated stream JetStream answers "duplicate message id is in
// process" while the first copy of an id is being replicated; PublishAll sends
// such a message again shortly, and its ack then says Duplicate.
//
// # Exactly once within the window
//
// Each action carries a Nats-Msg-Id derived with [MsgID] from the event's
// idempotency key and the action's place in the mappings, so a replay of the
// same event produces the same ids. [Client.PublishAll] publishes all actions
// of an event and waits for every ack:
//
//   - nil error: every action is durably stored. A [Result] with Duplicate set
//     was stored by an earlier delivery (or another ingress instance) within
//     the window and was not stored again. The ingress answers 2xx.
//   - error wrapping [ErrUnavailable]: at least one action was not
//     acknowledged (connection down, no ack before the deadline). Some may have
//     been stored. The ingress answers 503 with Retry-After; the sender's
//     retry publishes everything again with the same ids, and what was already
//     stored comes back Duplicate, so each action is stored exactly once as
//     long as the retry comes within the duplicate window.
//   - any other error: a retry cannot help (invalid subject, payload too
//     large); the event is still not acknowledged.
//
// A 2xx is never given for an action that was not acknowledged.
package jetstream
