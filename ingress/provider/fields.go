package provider

import (
	"fmt"
	"net/http"

	"inlet.dev/inlet/ingress/events"
)

// The rules every built-in provider reads a payload with: where a value is found is the
// provider's; what makes it an event type, an idempotency key or an id is here, once.

// The payload fields several providers read.
const (
	fieldType   = "type"
	fieldEvent  = "event"
	fieldUserID = "userId"
)

// eventType reads the event type at body.<field>: a non-empty string.
func eventType(payload map[string]any, field string) (string, error) {
	v, ok := payload[field]
	if !ok || v == nil {
		return "", events.NoEventType("event type not found at body.%s", field)
	}
	s, ok := v.(string)
	if !ok {
		return "", events.NoEventType("event type at body.%s is %s, not a string", field, typeName(v))
	}
	if s == "" {
		return "", events.NoEventType("event type at body.%s is empty", field)
	}
	return s, nil
}

// bodyKey reads the idempotency key at body.<field>, by the rule of [events.Key]. It
// reports whether the field was present (and not null), whether or not the key was
// kept.
func bodyKey(info *events.Info, payload map[string]any, field string) bool {
	v := payload[field]
	if v == nil {
		return false
	}
	info.IdempotencyKey, info.KeyDropped = events.Key(v)
	return true
}

// headerKey reads the idempotency key from the first of the headers present, each
// looked up by its canonical and its lower-case name (a header map built by hand may
// use either): names are given in pairs, canonical then lower-case.
func headerKey(info *events.Info, h http.Header, names ...string) {
	for i := 0; i+1 < len(names); i += 2 {
		vs, ok := h[names[i]]
		if !ok {
			vs, ok = h[names[i+1]]
		}
		if !ok {
			continue
		}
		if len(vs) == 0 {
			info.KeyDropped = true
			return
		}
		info.IdempotencyKey, info.KeyDropped = events.Key(vs[0])
		return
	}
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

// id returns the id v holds by the rule of [events.ID]; "" when it holds none.
func id(v any) string {
	s, _ := events.ID(v)
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
