package events

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"inlet.dev/inlet/api/v1alpha1"
)

// ErrUnsupportedSourceType is returned by Describe for the http source type, whose
// event type, key and user id come from its CEL expressions, and for unknown types.
// It is a configuration fault, not the sender's.
var ErrUnsupportedSourceType = errors.New("source type not described by the events package")

// Info is what Describe finds in one payload.
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
	// UserID is the id of the user the event is about; "" when there is none.
	UserID string
	// Data is the event's data for the normalised event; nil when there is none.
	Data any
	// Identify says the payload is an identify call of a CDP (or a PostHog $identify
	// or $set event), which IdentifyTraits reads.
	Identify bool
}

// Describe finds the event type, idempotency key, user id and data of one payload
// from a source of type t, following the table in the package documentation. headers
// are the request's headers, as received (canonical names; lower-case names are also
// found).
//
// A payload without a usable event type is refused with a *DecodeError of reason
// ReasonNoEventType. The http source type, and any unknown type, return an error
// wrapping ErrUnsupportedSourceType: an http source's expressions describe its events.
//
// A key read from a header (clerk's svix-id, reverse ETL's Idempotency-Key) belongs to
// the request: when a request holds a batch, every payload gets the same key, and the
// caller must make it unique per payload, for example by appending the payload's index.
func Describe(t v1alpha1.SourceType, payload map[string]any, headers http.Header) (Info, error) {
	var info Info
	switch t {
	case v1alpha1.SourceTypeStripe:
		typ, err := eventType(payload, "type")
		if err != nil {
			return Info{}, err
		}
		info.Type = typ
		info.setKey(payload, "id")
		obj, _ := object(payload, "data")["object"].(map[string]any)
		if obj != nil {
			info.Data = obj
			if c, ok := obj["customer"].(string); ok {
				info.UserID = c
			} else if obj["object"] == "customer" {
				info.UserID, _ = obj["id"].(string)
			}
		}

	case v1alpha1.SourceTypeClerk:
		typ, err := eventType(payload, "type")
		if err != nil {
			return Info{}, err
		}
		info.Type = typ
		info.setHeaderKey(headers, "Svix-Id", "svix-id", "Webhook-Id", "webhook-id")
		data := payload["data"]
		info.Data = data
		if m, _ := data.(map[string]any); m != nil {
			if strings.HasPrefix(typ, "user.") {
				info.UserID = id(m["id"])
			} else {
				info.UserID = id(m["user_id"])
			}
		}

	case v1alpha1.SourceTypeWorkOS:
		typ, err := eventType(payload, "event")
		if err != nil {
			return Info{}, err
		}
		info.Type = typ
		info.setKey(payload, "id")
		data := payload["data"]
		info.Data = data
		if m, _ := data.(map[string]any); m != nil {
			info.UserID = id(m["user_id"])
			if info.UserID == "" && strings.HasPrefix(typ, "user.") {
				info.UserID = id(m["id"])
			}
		}

	case v1alpha1.SourceTypeSupabase:
		schema, _ := payload["schema"].(string)
		table, _ := payload["table"].(string)
		op, _ := payload["type"].(string)
		if schema == "" || table == "" || op == "" {
			return Info{}, decodeError(ReasonNoEventType, -1,
				"event type not found: body.schema, body.table and body.type must be non-empty strings")
		}
		info.Type = schema + "." + table + ":" + op
		record := payload["record"]
		if op == "DELETE" {
			record = payload["old_record"]
		}
		info.Data = record
		if schema == "auth" && table == "users" {
			if m, _ := record.(map[string]any); m != nil {
				info.UserID = id(m["id"])
			}
		}

	case v1alpha1.SourceTypePostHog:
		typ, err := eventType(payload, "event")
		if err != nil {
			return Info{}, err
		}
		info.Type = typ
		if !info.setKey(payload, "messageId") {
			info.setKey(payload, "uuid")
		}
		info.UserID = firstID(payload, "distinct_id", "userId")
		info.Data = payload["properties"]
		info.Identify = typ == "$identify" || typ == "$set"

	case v1alpha1.SourceTypeSegment, v1alpha1.SourceTypeRudderStack, v1alpha1.SourceTypeJitsu, v1alpha1.SourceTypeFreshpaint:
		call, err := eventType(payload, "type")
		if err != nil {
			return Info{}, err
		}
		info.Type = call
		if call == "track" {
			if info.Type, err = eventType(payload, "event"); err != nil {
				return Info{}, err
			}
		}
		info.setKey(payload, "messageId")
		info.UserID = firstID(payload, "userId", "anonymousId")
		switch call {
		case "identify", "group":
			info.Data = payload["traits"]
		default:
			info.Data = payload["properties"]
		}
		info.Identify = call == "identify"

	case v1alpha1.SourceTypeHightouch, v1alpha1.SourceTypeCensus, v1alpha1.SourceTypePolytomic:
		info.Type = "record"
		if s, _ := payload["event"].(string); s != "" {
			info.Type = s
		} else if s, _ := payload["type"].(string); s != "" {
			info.Type = s
		}
		info.setHeaderKey(headers, "Idempotency-Key", "idempotency-key", "", "")
		info.UserID = firstID(payload, "user_id", "userId", "id")
		info.Data = payload

	case v1alpha1.SourceTypeHTTP:
		return Info{}, fmt.Errorf("%w: an http source's expressions describe its events", ErrUnsupportedSourceType)
	default:
		return Info{}, fmt.Errorf("%w: unknown source type %q", ErrUnsupportedSourceType, truncate(string(t), 64))
	}
	return info, nil
}

// eventType reads the event type at body.<field>: a non-empty string.
func eventType(payload map[string]any, field string) (string, error) {
	v, ok := payload[field]
	if !ok || v == nil {
		return "", decodeError(ReasonNoEventType, -1, "event type not found at body.%s", field)
	}
	s, ok := v.(string)
	if !ok {
		return "", decodeError(ReasonNoEventType, -1, "event type at body.%s is %s, not a string", field, typeName(v))
	}
	if s == "" {
		return "", decodeError(ReasonNoEventType, -1, "event type at body.%s is empty", field)
	}
	return s, nil
}

// setKey reads the idempotency key at body.<field>, with the rule of [Key]. It reports
// whether the field was present (and not null), whether or not the key was kept.
func (i *Info) setKey(payload map[string]any, field string) bool {
	v := payload[field]
	if v == nil {
		return false
	}
	i.IdempotencyKey, i.KeyDropped = Key(v)
	return true
}

// setHeaderKey reads the idempotency key from the first of two headers present, each
// looked up by its canonical and its lower-case name.
func (i *Info) setHeaderKey(h http.Header, canonical, lower, canonical2, lower2 string) {
	vs, ok := h[canonical]
	if !ok {
		vs, ok = h[lower]
	}
	if !ok && canonical2 != "" {
		vs, ok = h[canonical2]
		if !ok {
			vs, ok = h[lower2]
		}
	}
	if !ok {
		return
	}
	if len(vs) == 0 {
		i.KeyDropped = true
		return
	}
	i.IdempotencyKey, i.KeyDropped = Key(vs[0])
}

// firstID returns the first of the fields that holds an id.
func firstID(m map[string]any, fields ...string) string {
	for _, f := range fields {
		if s := id(m[f]); s != "" {
			return s
		}
	}
	return ""
}

// id returns the id v holds by the rule of [ID]; "" when it holds none.
func id(v any) string {
	s, _ := ID(v)
	return s
}

// object returns m[field] when it is an object, else nil.
func object(m map[string]any, field string) map[string]any {
	o, _ := m[field].(map[string]any)
	return o
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case float64, int64, uint64:
		return "a number"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case nil:
		return "null"
	}
	return fmt.Sprintf("a %T", v)
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
