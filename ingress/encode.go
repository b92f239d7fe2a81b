package ingress

import (
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"inlet.dev/inlet/ingress/wire"
)

// The event log records and the action messages are written by hand, field by field,
// into one buffer sized for them: encoding them by reflection took a tenth of the data
// path's CPU and several copies of the payload. They are the JSON the types of package
// wire describe (their json tags, omitempty and omitzero included), which readers
// decode with encoding/json or jetstream.DecodeEventRecord; TestEncodeEventRecord and
// TestEncodeActionMessage hold them to what json.Marshal gives.

// appendString appends s as a JSON string. Invalid UTF-8 (a header value may hold
// some) is replaced by U+FFFD rather than making the record unreadable.
func appendString(b []byte, s string) []byte {
	b, _ = jsontext.AppendQuote(b, s)
	return b
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// fields writes the members of one JSON object, commas included.
type fields struct{ b []byte }

func (f *fields) name(n string) {
	if c := f.b[len(f.b)-1]; c != '{' {
		f.b = append(f.b, ',')
	}
	f.b = append(f.b, '"')
	f.b = append(f.b, n...)
	f.b = append(f.b, '"', ':')
}

func (f *fields) str(n, v string) { f.name(n); f.b = appendString(f.b, v) }

func (f *fields) strOmitEmpty(n, v string) {
	if v != "" {
		f.str(n, v)
	}
}

func (f *fields) boolean(n string, v bool) { f.name(n); f.b = strconv.AppendBool(f.b, v) }

func (f *fields) boolOmitZero(n string, v bool) {
	if v {
		f.boolean(n, v)
	}
}

func (f *fields) integer(n string, v int64) { f.name(n); f.b = strconv.AppendInt(f.b, v, 10) }

func (f *fields) time(n string, t time.Time) { f.name(n); f.b = appendTime(f.b, t) }

func (f *fields) raw(n string, v []byte) { f.name(n); f.b = append(f.b, v...) }

// eventRecordSize is about how many bytes rec takes as JSON with payload.
func eventRecordSize(rec *wire.EventRecord, payload []byte) int {
	n := 512 + len(payload) + len(rec.Error) + len(rec.IdempotencyKey) + len(rec.UserID) + len(rec.Type)
	for k, v := range rec.Headers {
		n += len(k) + len(v) + 8
	}
	for i := range rec.ActionLog {
		a := &rec.ActionLog[i]
		n += 320 + len(a.Mapping) + len(a.Subject) + len(a.Error) + len(a.EventType)
	}
	return n
}

// appendEventRecord appends rec as JSON, with payload (JSON, as received) as its
// payload field when it is not empty, else rec.Payload.
func appendEventRecord(b []byte, rec *wire.EventRecord, payload []byte) []byte {
	f := fields{append(b, '{')}
	f.str("kind", rec.Kind)
	f.str("id", rec.ID)
	f.time("time", rec.Time)
	f.str("namespace", rec.Namespace)
	f.str("sourceEnvironment", rec.SourceEnvironment)
	f.str("source", rec.Source)
	f.str("sourceType", rec.SourceType)
	f.str("environment", rec.Environment)
	f.strOmitEmpty("type", rec.Type)
	f.strOmitEmpty("idempotencyKey", rec.IdempotencyKey)
	f.boolOmitZero("keyDropped", rec.KeyDropped)
	f.strOmitEmpty("userId", rec.UserID)
	f.boolean("verified", rec.Verified)
	f.str("status", rec.Status)
	f.boolOmitZero("idempotent", rec.Idempotent)
	f.integer("actions", int64(rec.Actions))
	if rec.Failed != 0 {
		f.integer("failed", int64(rec.Failed))
	}
	f.strOmitEmpty("error", rec.Error)
	f.integer("size", int64(rec.Size))
	if len(rec.Headers) > 0 {
		f.name("headers")
		f.b = append(f.b, '{')
		first := true
		for k, v := range rec.Headers {
			if !first {
				f.b = append(f.b, ',')
			}
			first = false
			f.b = append(appendString(f.b, k), ':')
			f.b = appendString(f.b, v)
		}
		f.b = append(f.b, '}')
	}
	f.boolOmitZero("headersTruncated", rec.HeadersTruncated)
	f.boolOmitZero("payloadOmitted", rec.PayloadOmitted)
	f.strOmitEmpty("replayOf", rec.ReplayOf)
	f.strOmitEmpty("repeatOf", rec.RepeatOf)
	if len(rec.ActionLog) > 0 {
		f.name("actionLog")
		f.b = append(f.b, '[')
		for i := range rec.ActionLog {
			if i > 0 {
				f.b = append(f.b, ',')
			}
			f.b = appendActionRecord(f.b, &rec.ActionLog[i])
		}
		f.b = append(f.b, ']')
	}
	if len(payload) == 0 {
		payload = rec.Payload
	}
	if len(payload) > 0 {
		f.raw("payload", payload)
	}
	return append(f.b, '}')
}

func appendActionRecord(b []byte, a *wire.ActionRecord) []byte {
	f := fields{append(b, '{')}
	f.str("eventId", a.EventID)
	f.time("time", a.Time)
	f.str("namespace", a.Namespace)
	f.str("sourceEnvironment", a.SourceEnvironment)
	f.str("eventType", a.EventType)
	f.str("mapping", a.Mapping)
	f.str("action", a.Action)
	f.integer("position", int64(a.Position))
	f.strOmitEmpty("subject", a.Subject)
	f.strOmitEmpty("stream", a.Stream)
	if a.Sequence != 0 {
		f.name("sequence")
		f.b = strconv.AppendUint(f.b, a.Sequence, 10)
	}
	f.str("status", a.Status)
	f.strOmitEmpty("error", a.Error)
	return append(f.b, '}')
}

// appendActionMessage appends m as JSON, with params, the JSON of m.Params, in its
// place.
func appendActionMessage(b []byte, m *wire.ActionMessage, params []byte) []byte {
	f := fields{append(b, '{')}
	f.str("id", m.ID)
	f.str("action", m.Action)
	f.raw("params", params)
	f.str("environment", m.Environment)
	f.name("source")
	s := fields{append(f.b, '{')}
	s.str("namespace", m.Source.Namespace)
	s.str("name", m.Source.Name)
	s.str("type", m.Source.Type)
	s.str("sourceEnvironment", m.Source.SourceEnvironment)
	f.b = append(s.b, '}')
	f.str("mapping", m.Mapping)
	f.integer("position", int64(m.Position))
	f.name("event")
	e := fields{append(f.b, '{')}
	e.str("id", m.Event.ID)
	e.str("type", m.Event.Type)
	e.strOmitEmpty("idempotencyKey", m.Event.IdempotencyKey)
	e.strOmitEmpty("userId", m.Event.UserID)
	e.time("receivedAt", m.Event.ReceivedAt)
	f.b = append(e.b, '}')
	return append(f.b, '}')
}

// appendResponse appends the answer's body, r as JSON (what json.Marshal gives).
func appendResponse(b []byte, r *response) []byte {
	f := fields{append(b, '{')}
	if r.Events != 0 {
		f.integer("events", int64(r.Events))
	}
	if len(r.EventIDs) > 0 {
		f.name("eventIds")
		f.b = append(f.b, '[')
		for i, id := range r.EventIDs {
			if i > 0 {
				f.b = append(f.b, ',')
			}
			f.b = appendString(f.b, id)
		}
		f.b = append(f.b, ']')
	}
	f.integer("actions", int64(r.Actions))
	if r.Duplicates != 0 {
		f.integer("duplicates", int64(r.Duplicates))
	}
	if r.Failed != 0 {
		f.integer("failed", int64(r.Failed))
	}
	f.boolOmitZero("idempotent", r.Idempotent)
	f.strOmitEmpty("error", r.Error)
	return append(f.b, '}')
}

// appendValue appends v, a plain Go JSON value (what the decoder and CEL's native
// conversion give: map[string]any, []any, string, float64, int64, uint64, bool, nil),
// as JSON: what jsonv2.Marshal gives, without its reflection. A value of another type
// is encoded by jsonv2.Marshal. It fails, as Marshal does, on invalid UTF-8 and on a
// float that is not a JSON number.
func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return jsontext.AppendQuote(b, v)
	case bool:
		return strconv.AppendBool(b, v), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case uint64:
		return strconv.AppendUint(b, v, 10), nil
	case float64:
		return appendFloat(b, v)
	case map[string]any:
		b = append(b, '{')
		first := true
		for k, e := range v {
			if !first {
				b = append(b, ',')
			}
			first = false
			var err error
			if b, err = jsontext.AppendQuote(b, k); err != nil {
				return b, err
			}
			b = append(b, ':')
			if b, err = appendValue(b, e); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	}
	data, err := json.Marshal(v)
	return append(b, data...), err
}

var errNotJSONNumber = errors.New("not a JSON number")

// appendFloat appends f as JSON numbers are written by JSON v2 (and encoding/json,
// and JavaScript): the shortest representation that reads back as f, in decimal
// notation between 1e-6 and 1e21, else in exponent notation with a minimal exponent.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, errNotJSONNumber
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9.
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}
