// Package wire holds inlet's contracts with whoever reads what the ingress writes: the
// action message published for every action (docs/actions.md), and the event and
// action records of the event log (`inlet events`, `inlet actions`). It depends on the
// standard library alone, so that a consumer, the CLI and tests decode these messages
// without importing the server.
package wire

import (
	"encoding/json"
	"time"
)

// ActionMessage is what is published for every action, as JSON, on
// inlet.actions.<environment>.<action>.
type ActionMessage struct {
	// ID is the message id: the Nats-Msg-Id when the event has an idempotency key (so a
	// redelivery carries the same id), a unique id otherwise.
	ID string `json:"id"`
	// Action is the action kind: identifyUser, triggerWorkflow, ...
	Action string `json:"action"`
	// Params are the action's parameters: its literal names (workflow, collection,
	// audience) and the values of its CEL fields (recipients, data, id, ...).
	Params map[string]any `json:"params"`
	// Environment is the SourceEnvironment's environment (production, ...).
	Environment string `json:"environment"`
	// Source says where the event came from.
	Source MessageSource `json:"source"`
	// Mapping is the EventMapping that produced the action ("identifyUsers" for an
	// identify call turned into a user by the SourceEnvironment's identifyUsers).
	Mapping string `json:"mapping"`
	// Position is the action's index in the mapping's spec.actions.
	Position int `json:"position"`
	// Event is the event the action came from.
	Event MessageEvent `json:"event"`
}

// MessageSource names the Source and SourceEnvironment of an action.
type MessageSource struct {
	Namespace         string `json:"namespace"`
	Name              string `json:"name"`
	Type              string `json:"type"`
	SourceEnvironment string `json:"sourceEnvironment"`
}

// MessageEvent describes the event an action came from.
type MessageEvent struct {
	// ID identifies the delivery in the event log.
	ID string `json:"id"`
	// Type is the event type the mapping matched.
	Type string `json:"type"`
	// IdempotencyKey is the sender's key for the event, when it has one.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	// UserID is the user the event is about, when known.
	UserID string `json:"userId,omitempty"`
	// ReceivedAt is when the ingress received the event.
	ReceivedAt time.Time `json:"receivedAt"`
}

// IdentifyUsersMapping is the mapping name of the identifyUser actions a
// SourceEnvironment's identifyUsers makes of identify calls.
const IdentifyUsersMapping = "identifyUsers"

// Event statuses, the status of an EventRecord. The ingress counts its requests by the
// same names (the result label of inlet_ingress_requests_total).
const (
	// EventAccepted: verified, and every action stored (or failed for good).
	EventAccepted = "accepted"
	// EventIdempotent: every action was a duplicate of one stored earlier.
	EventIdempotent = "idempotent"
	// EventUnauthorized: verification failed.
	EventUnauthorized = "unauthorized"
	// EventMalformed: verified, but the body could not be read as events.
	EventMalformed = "malformed"
	// EventTooLarge: the body was larger than the SourceEnvironment allows.
	EventTooLarge = "too_large"
	// EventUnavailable: JetStream did not acknowledge every action; the sender was
	// answered 503 and retries.
	EventUnavailable = "unavailable"
)

// EventRecord is one event in the event log, with what became of its actions, on
// inlet.logs.events.<namespace>.<sourceEnvironment>.<event id>: one message per event,
// readable by event id. A refused request has a record of its own, without payload.
type EventRecord struct {
	Kind              string            `json:"kind"` // "event"
	ID                string            `json:"id"`
	Time              time.Time         `json:"time"`
	Namespace         string            `json:"namespace"`
	SourceEnvironment string            `json:"sourceEnvironment"`
	Source            string            `json:"source"`
	SourceType        string            `json:"sourceType"`
	Environment       string            `json:"environment"`
	Type              string            `json:"type,omitempty"`
	IdempotencyKey    string            `json:"idempotencyKey,omitempty"`
	KeyDropped        bool              `json:"keyDropped,omitzero"`
	UserID            string            `json:"userId,omitempty"`
	Verified          bool              `json:"verified"`
	Status            string            `json:"status"`
	Idempotent        bool              `json:"idempotent,omitzero"`
	Actions           int               `json:"actions"`
	Failed            int               `json:"failed,omitzero"`
	Error             string            `json:"error,omitempty"`
	Size              int               `json:"size"`
	Headers           map[string]string `json:"headers,omitempty"`
	// HeadersTruncated says some headers were left out or cut short: a refused
	// request's headers are kept to a few KiB.
	HeadersTruncated bool `json:"headersTruncated,omitzero"`
	// PayloadOmitted says the payload was left out because the record would not fit in
	// one NATS message; Size is still the size received.
	PayloadOmitted bool `json:"payloadOmitted,omitzero"`
	// ReplayOf is set on the record of a replay (`inlet replay`): the id of the event
	// whose stored payload and headers were run through the mappings again.
	ReplayOf string `json:"replayOf,omitempty"`
	// RepeatOf is set on the record of an event the ingress answered as a repeat of
	// one whose every action was stored, within its idempotency window, without
	// evaluating the mappings or publishing: the first delivery's event id, whose
	// record holds the payload and the actions. Actions counts the actions, all
	// duplicates.
	RepeatOf string `json:"repeatOf,omitempty"`
	// ActionLog holds what became of each action the event produced.
	ActionLog []ActionRecord `json:"actionLog,omitempty"`
	// Payload is the event exactly as received (for a batch, the element).
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Action statuses, the status of an ActionRecord.
const (
	// ActionPublished: stored in the action stream.
	ActionPublished = "published"
	// ActionDuplicate: a message with the same id was stored earlier, within the
	// stream's duplicate window.
	ActionDuplicate = "duplicate"
	// ActionFailed: not published, and a retry cannot change that (a CEL error, a
	// message JetStream refuses for good); Error says why.
	ActionFailed = "failed"
	// ActionUnavailable: not stored because JetStream was unavailable; the sender was
	// answered 503 and retries.
	ActionUnavailable = "unavailable"
)

// ActionRecord is what became of one action: published, a duplicate of one stored
// earlier, failed to build, or not stored because JetStream was unavailable.
type ActionRecord struct {
	EventID           string    `json:"eventId"`
	Time              time.Time `json:"time"`
	Namespace         string    `json:"namespace"`
	SourceEnvironment string    `json:"sourceEnvironment"`
	EventType         string    `json:"eventType"`
	Mapping           string    `json:"mapping"`
	Action            string    `json:"action"`
	Position          int       `json:"position"`
	Subject           string    `json:"subject,omitempty"`
	Stream            string    `json:"stream,omitempty"`
	Sequence          uint64    `json:"sequence,omitzero"`
	Status            string    `json:"status"`
	Error             string    `json:"error,omitempty"`
}
