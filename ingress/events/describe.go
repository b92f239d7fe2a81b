package events

// Info is what a source type's provider (package ingress/provider) finds in one
// payload.
type Info struct {
	// Type is the event type the EventMappings match on.
	Type string
	// IdempotencyKey identifies the event across deliveries; "" when there is none or
	// it was dropped.
	IdempotencyKey string
	// KeyDropped says a key was present but invalid by the rule of [Key] (empty,
	// longer than MaxKeyLength characters, or neither a string nor an integer) and was
	// dropped: the event is processed without idempotency.
	KeyDropped bool
	// UserID is the id of the user the event is about, by the rule of [ID]; "" when
	// there is none.
	UserID string
	// Data is the event's data for the normalised event; nil when there is none.
	Data any
	// Identify says the payload is an identify call of a CDP (or a PostHog $identify
	// or $set event), which IdentifyTraits reads.
	Identify bool
	// Preprocess is what an http source's preprocess expression returned, which the
	// mappings see as preprocess; nil when there is none.
	Preprocess any
}

// NoEventType returns the error of a payload without a usable event type: a
// *DecodeError of reason ReasonNoEventType, which the ingress answers with 400.
func NoEventType(format string, args ...any) *DecodeError {
	return decodeError(ReasonNoEventType, -1, format, args...)
}

// Normalize returns the normalised event that CEL sees as event:
//
//	{"type": info.Type, "user_id": info.UserID, "data": info.Data, "event": payload}
//
// "user_id" is left out when there is no user id, so has(event.user_id) tells whether
// there is one; "data" is always present and null when the payload has no data.
func Normalize(info Info, payload any) map[string]any {
	n := make(map[string]any, 4)
	n["type"] = info.Type
	if info.UserID != "" {
		n["user_id"] = info.UserID
	}
	n["data"] = info.Data
	n["event"] = payload
	return n
}
