// Package events turns a verified request body into typed events: it decodes the body
// into payloads, holds the rules every source type's provider shares for event types,
// idempotency keys and ids, and builds the normalised event that mappings see as
// event. It runs for every event, after verification and before the EventMappings.
//
// # Bodies
//
// [Decode] accepts a JSON object (one event), a JSON array of objects (a batch: one
// event per element, as Segment and RudderStack batch and reverse-ETL tools send
// records), or NDJSON (one object per line; blank lines are ignored), recognised by
// its content type (application/x-ndjson, application/ndjson, application/jsonl,
// application/x-jsonlines) or by several objects each starting on a new line. A body
// holds at most 1000 events unless the ingress is configured otherwise.
//
// The ingress answers 400 to a body that is empty, is not JSON or not UTF-8, has an
// object with the same key twice, is a scalar or holds an element or line that is not
// an object, has data after its value, or holds too many events. A duplicate key is
// refused because JSON parsers disagree on which value wins: the sender that signed
// the body and inlet could otherwise read different events from the same bytes.
//
// [DecodePaths] is Decode for a reader that reads only some paths of each payload
// ([Paths]): the ingress decodes of a body that is one object only what its
// SourceEnvironment reads (its provider, its mappings' expressions, identifyUsers), and
// refuses exactly the bodies Decode refuses, with the same errors, since what it does
// not decode it still reads and checks.
//
// A JSON number is a double (float64), except an integer beyond 2^53 in magnitude
// that fits int64 or uint64, which is kept exact as one ([Number]): a 64-bit id such as
// 12345678901234567890 keeps every digit through CEL into the actions.
//
// # Event type, idempotency key, user id and data
//
// Each source type's provider (package ingress/provider, one file per type) says where
// a payload's event type, idempotency key, user id and data are, and fills an [Info].
// What they are is the same for every source type, and written here once: a key or
// user id may be a string or an integer, which is written in decimal ([ID]); a key
// must be non-empty and have at most 255 characters, not bytes ([Key]). A key that is
// present but invalid is dropped and the event is processed without idempotency;
// Info.KeyDropped records it. A null key counts as absent. A payload without its event
// type is refused with a *DecodeError of reason ReasonNoEventType ([NoEventType]),
// answered with 400.
//
// # Normalised event
//
// [Normalize] builds the event CEL sees as event:
//
//	{"type": "customer.subscription.deleted", "user_id": "cus_123",
//	 "data": {...}, "event": {...the original payload...}}
//
// user_id is left out when there is no user id, so has(event.user_id) tells whether
// there is one; data is always present and null when the payload has none.
//
// # Identify calls
//
// With identifyUsers set on a SourceEnvironment, every identify call of a CDP source
// identifies its user without a mapping; [IdentifyTraits] reads it. The user id is
// body.userId (for PostHog, else body.distinct_id); calls without one are skipped. The
// traits (body.traits; for PostHog, body.properties.$set) become the user's
// properties, with name (or firstName and lastName joined), email, avatar and phone
// mapped to name, email, avatar and phone_number, and every other trait kept as it
// is.
package events
