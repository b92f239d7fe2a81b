// Package events turns a verified request body into typed events: it decodes the body
// into payloads, finds each payload's event type, idempotency key, user id and data
// according to its Source's type, and builds the normalised event that mappings see as
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
// A JSON number is a double (float64), except an integer beyond 2^53 in magnitude
// that fits int64 or uint64, which is kept exact as one ([Number]): a 64-bit id such as
// 12345678901234567890 keeps every digit through CEL into the actions.
//
// # Event type, idempotency key, user id and data
//
// [Describe] reads them at these places, by Source type (body is the payload). A key or
// user id may be a string or an integer, which is written in decimal ([ID]); a key
// must have at most 255 characters, not bytes ([Key]). The same rule applies to the
// http source type's idempotencyKey and userId expressions:
//
//	stripe        type      body.type
//	              key       body.id
//	              user id   body.data.object.customer when a string; for a customer
//	                        object (body.data.object.object == "customer"),
//	                        body.data.object.id
//	              data      body.data.object
//
//	clerk         type      body.type
//	              key       header svix-id (webhook-id when there is none)
//	              user id   body.data.id for user.* events, else body.data.user_id
//	              data      body.data
//
//	workos        type      body.event
//	              key       body.id
//	              user id   body.data.user_id, else body.data.id for user.* events
//	              data      body.data
//
//	supabase      type      "{body.schema}.{body.table}:{body.type}", e.g.
//	                        auth.users:INSERT or public.comments:DELETE
//	              key       none
//	              user id   for auth.users, the record's id
//	              data      body.record, or body.old_record for DELETE
//
//	posthog       type      body.event, e.g. $pageview or signed_up
//	              key       body.messageId, else body.uuid
//	              user id   body.distinct_id, else body.userId
//	              data      body.properties
//	              identify  $identify and $set events
//
//	segment,      type      body.event for track calls; the call type (body.type:
//	rudderstack,            identify, group, page, screen, alias) for the others
//	jitsu,        key       body.messageId
//	freshpaint    user id   body.userId, else body.anonymousId
//	              data      body.traits for identify and group calls, body.properties
//	                        for the others
//	              identify  identify calls
//
//	hightouch,    type      body.event, else body.type, when a non-empty string;
//	census,                 else "record"
//	polytomic     key       header Idempotency-Key, else none
//	              user id   body.user_id, else body.userId, else body.id
//	              data      the whole record (body)
//
// An http Source reads all of these with its own CEL expressions instead.
//
// A payload without its event type (missing, empty or not a string; for a track call,
// without body.event) is refused with 400, e.g. "event type not found at body.type".
//
// An idempotency key must be a non-empty string (or a number) of at most 255
// characters. A key that is present but invalid is dropped and the event is processed
// without idempotency; Info.KeyDropped records it. A null key counts as absent.
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
