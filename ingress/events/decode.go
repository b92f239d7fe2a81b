package events

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// DefaultLimit is the number of payloads one body may hold when Decode is given a
// limit below 1.
const DefaultLimit = 1000

// The reasons a body or payload is refused, in DecodeError.Reason. They are stable
// and few, for metrics and logs.
const (
	// ReasonEmpty is a body with nothing but whitespace, or an empty batch.
	ReasonEmpty = "empty_body"
	// ReasonInvalidJSON is a body that is not JSON: a syntax error, a truncated
	// value, a number out of range or nesting deeper than 10000 levels.
	ReasonInvalidJSON = "invalid_json"
	// ReasonInvalidUTF8 is a body with bytes that are not UTF-8, or a string escape
	// that is not a valid Unicode character (a lone surrogate).
	ReasonInvalidUTF8 = "invalid_utf8"
	// ReasonDuplicateKey is an object with the same key twice.
	ReasonDuplicateKey = "duplicate_key"
	// ReasonNotObject is a body, batch element or NDJSON line that is not an object.
	ReasonNotObject = "not_object"
	// ReasonTrailingData is data after the JSON value that is not another object on
	// a new line.
	ReasonTrailingData = "trailing_data"
	// ReasonTooManyEvents is a batch or NDJSON body with more payloads than the limit.
	ReasonTooManyEvents = "too_many_events"
	// ReasonNoEventType is a payload without a usable event type (see NoEventType).
	ReasonNoEventType = "no_event_type"
)

// DecodeError is a body or payload that inlet refuses because of the sender: the
// ingress answers it with HTTP 400. Its message is short and safe to return to the
// sender and to log: it quotes at most a few bytes of the body.
type DecodeError struct {
	// Reason is one of the Reason* constants.
	Reason string
	// Offset is the byte offset in the body at or after which the problem was found,
	// or -1 when it concerns the body as a whole or a decoded payload.
	Offset int64
	msg    string
}

// Error returns the message, e.g. "invalid JSON at byte 17 (line 2): unexpected end of
// input" or "event type not found at body.type".
func (e *DecodeError) Error() string { return e.msg }

func decodeError(reason string, offset int64, format string, args ...any) *DecodeError {
	return &DecodeError{Reason: reason, Offset: offset, msg: fmt.Sprintf(format, args...)}
}

// The decoder is JSON v2 (github.com/go-json-experiment/json, the implementation of
// encoding/json/v2), chosen by measurement: unmarshalling into any, it gives exactly
// the values encoding/json gives (TestDecodeAgreesWithEncodingJSON, FuzzDecode) in
// half the time on a single event, and it refuses invalid UTF-8 and duplicate keys,
// which encoding/json silently accepts (replacing bad bytes; the last duplicate wins).
// CPU time per body on this project's 2-core machine (go1.26, GOMAXPROCS=1, best of
// 7 rounds; BenchmarkDecode measures the same, with more noise on a shared machine):
//
//	                                       Decode   JSON v2   encoding/json (+utf8.Valid)
//	stripe event (2.1 KB, 137 allocs)      10.2µs    10.0µs    20.2µs (177 allocs)
//	Segment batch (20 events, 16 KB)       99.9µs   100.0µs   158.0µs
//
// Decode calls json.Unmarshal once for the common bodies (decodeFast) and reads value
// by value only for NDJSON and refused bodies.

// decoder is a pooled jsontext.Decoder reading a body in place, without copying it.
type decoder struct {
	buf bytes.Buffer
	dec *jsontext.Decoder
}

var decoders = sync.Pool{New: func() any {
	d := new(decoder)
	d.dec = jsontext.NewDecoder(&d.buf)
	return d
}}

var emptyBuffer bytes.Buffer

// decoderFor returns a pooled decoder reading body in place; release it when done.
func decoderFor(body []byte) *decoder {
	d := decoders.Get().(*decoder)
	d.buf = *bytes.NewBuffer(body)
	d.dec.Reset(&d.buf)
	return d
}

// release returns d to the pool, without its body.
func (d *decoder) release() {
	d.dec.Reset(&emptyBuffer) // do not pin the body
	d.buf = bytes.Buffer{}
	decoders.Put(d)
}

// Decode parses a request body into payloads, in order:
//
//   - a JSON object is one payload;
//   - a JSON array (a Segment or RudderStack batch, a list of reverse-ETL records) is
//     one payload per element, and every element must be an object;
//   - NDJSON, that is a body whose content type is application/x-ndjson,
//     application/ndjson, application/jsonl or application/x-jsonlines, or any body of
//     several JSON objects each starting on a new line, is one payload per object;
//     blank lines are ignored.
//
// Each payload is a map[string]any whose values are plain Go JSON values:
// map[string]any, []any, string, float64, bool and nil, and int64 and uint64 for
// integers that a float64 cannot hold exactly (see [Number]). A body with more than limit
// payloads is refused; a limit below 1 means DefaultLimit. The content type is only
// used to recognise NDJSON and forms (application/x-www-form-urlencoded, read by the
// rules of decodeForm): any other body is read as JSON, whatever its label.
//
// Every refusal is a *DecodeError: an empty body or empty batch, invalid JSON,
// invalid UTF-8, an object with the same key twice, a body, element or line that is
// not an object, data after the value, or too many payloads. Duplicate keys are
// refused because JSON parsers disagree on which of them wins, so a payload with
// duplicates can mean one thing to the sender that signed it and another to inlet.
func Decode(contentType string, body []byte, limit int) ([]any, error) {
	if IsForm(contentType) {
		return decodeForm(body, limit)
	}
	out, err := decode(contentType, body, limit)
	if err == nil && mayHoldLargeInteger(body) {
		return decodeExact(body)
	}
	return out, err
}

func decode(contentType string, body []byte, limit int) ([]any, error) {
	if limit < 1 {
		limit = DefaultLimit
	}
	start := skipSpace(body, 0)
	if start == len(body) {
		return nil, decodeError(ReasonEmpty, -1, "empty body")
	}
	ndjson := isNDJSON(contentType)
	if !ndjson {
		if out, ok := decodeFast(body, start, limit); ok {
			return out, nil
		}
	}

	// The exact path: NDJSON, and every body the fast path refused, for a precise
	// error. It reads the body value by value, so a batch over the limit or a
	// non-object element stops it early.
	d := decoderFor(body)
	defer d.release()

	switch kind := d.dec.PeekKind(); {
	case kind == '[' && !ndjson:
		return decodeArray(d.dec, body, limit)
	case kind == '{':
		return decodeObjects(d.dec, body, limit, ndjson)
	case kind == 0:
		_, err := d.dec.ReadToken()
		return nil, jsonError(err, body, ndjson)
	default:
		what := "body"
		if ndjson {
			what = "line " + strconv.Itoa(lineAt(body, int64(start)))
		}
		return nil, decodeError(ReasonNotObject, int64(start), "%s is %s, not a JSON object", what, kindName(kind))
	}
}

// decodeFast decodes the common bodies, a single object or a batch within the limit,
// in one call. It reports false for anything else, which the exact path then reads.
func decodeFast(body []byte, start, limit int) ([]any, bool) {
	switch body[start] {
	case '{':
		var v any // into any, not map[string]any: JSON v2 has a faster path for any
		if json.Unmarshal(body, &v) == nil {
			return []any{v}, true
		}
	case '[':
		var list []any
		if json.Unmarshal(body, &list) != nil || len(list) == 0 || len(list) > limit {
			return nil, false
		}
		for _, v := range list {
			if _, ok := v.(map[string]any); !ok {
				return nil, false
			}
		}
		return list, true
	}
	return nil, false
}

// decodeArray reads a batch: an array of objects and nothing after it.
func decodeArray(dec *jsontext.Decoder, body []byte, limit int) ([]any, error) {
	if _, err := dec.ReadToken(); err != nil {
		return nil, jsonError(err, body, false)
	}
	var out []any
	for i := 0; ; i++ {
		switch kind := dec.PeekKind(); kind {
		case ']':
			if _, err := dec.ReadToken(); err != nil {
				return nil, jsonError(err, body, false)
			}
			if len(out) == 0 {
				return nil, decodeError(ReasonEmpty, -1, "empty batch: the array holds no events")
			}
			if end := skipSpace(body, int(dec.InputOffset())); end != len(body) {
				return nil, decodeError(ReasonTrailingData, int64(end), "unexpected data at byte %d after the JSON array", end)
			}
			return out, nil
		case '{':
			if len(out) == limit {
				return nil, tooMany(limit)
			}
			if out == nil {
				out = make([]any, 0, min(limit, 16))
			}
			var m map[string]any
			if err := json.UnmarshalDecode(dec, &m); err != nil {
				return nil, jsonError(err, body, false)
			}
			out = append(out, m)
		case 0:
			_, err := dec.ReadToken()
			return nil, jsonError(err, body, false)
		default:
			off := skipSpace(body, int(dec.InputOffset()))
			if off < len(body) && body[off] == ',' {
				off = skipSpace(body, off+1)
			}
			return nil, decodeError(ReasonNotObject, int64(off), "batch element %d is %s, not a JSON object", i, kindName(kind))
		}
	}
}

// decodeObjects reads one object, then any further objects each starting on a new
// line (NDJSON).
func decodeObjects(dec *jsontext.Decoder, body []byte, limit int, ndjson bool) ([]any, error) {
	var out []any
	for {
		var m map[string]any
		if err := json.UnmarshalDecode(dec, &m); err != nil {
			return nil, jsonError(err, body, ndjson || len(out) > 0)
		}
		end := int(dec.InputOffset())
		next := skipSpace(body, end)
		if out == nil {
			if next == len(body) {
				return []any{m}, nil // the common case: one object
			}
			out = make([]any, 0, 8)
		}
		out = append(out, m)
		if next == len(body) {
			return out, nil
		}
		if bytes.IndexByte(body[end:next], '\n') < 0 {
			hint := ""
			if body[next] == '{' {
				hint = "; NDJSON objects must each start on a new line"
			}
			return nil, decodeError(ReasonTrailingData, int64(next), "unexpected data at %s after the JSON object%s",
				where(body, int64(next), len(out) > 1), hint)
		}
		if kind := dec.PeekKind(); kind != '{' {
			if kind == 0 {
				_, err := dec.ReadToken()
				return nil, jsonError(err, body, true)
			}
			return nil, decodeError(ReasonNotObject, int64(next), "line %d is %s, not a JSON object", lineAt(body, int64(next)), kindName(kind))
		}
		if len(out) == limit {
			return nil, tooMany(limit)
		}
	}
}

func tooMany(limit int) *DecodeError {
	return decodeError(ReasonTooManyEvents, -1, "body holds more than %d events", limit)
}

// jsonError turns an error of the JSON decoder into a *DecodeError whose message
// quotes at most a few bytes of the body.
func jsonError(err error, body []byte, lines bool) *DecodeError {
	var (
		serr *jsontext.SyntacticError
		merr *json.SemanticError
	)
	switch {
	case errors.As(err, &serr):
		at := where(body, serr.ByteOffset, lines)
		switch {
		case errors.Is(serr.Err, jsontext.ErrDuplicateName):
			return decodeError(ReasonDuplicateKey, serr.ByteOffset, "duplicate object key %s at %s", shortPointer(serr.JSONPointer), at)
		case errors.Is(serr.Err, io.ErrUnexpectedEOF):
			return decodeError(ReasonInvalidJSON, serr.ByteOffset, "invalid JSON at %s: unexpected end of input", at)
		case serr.Err != nil && (strings.Contains(serr.Err.Error(), "UTF-8") || strings.Contains(serr.Err.Error(), "surrogate")):
			return decodeError(ReasonInvalidUTF8, serr.ByteOffset, "invalid UTF-8 at %s", at)
		case serr.Err != nil:
			return decodeError(ReasonInvalidJSON, serr.ByteOffset, "invalid JSON at %s: %s", at, truncate(serr.Err.Error(), 96))
		}
		return decodeError(ReasonInvalidJSON, serr.ByteOffset, "invalid JSON at %s", at)
	case errors.As(err, &merr):
		// Into any, the only semantic failure is a number that does not fit a float64.
		return decodeError(ReasonInvalidJSON, merr.ByteOffset, "invalid JSON at %s: number out of range", where(body, merr.ByteOffset, lines))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return decodeError(ReasonInvalidJSON, int64(len(body)), "invalid JSON: unexpected end of input")
	}
	return decodeError(ReasonInvalidJSON, -1, "invalid JSON")
}

// where names a byte offset, with its line for multi-line (NDJSON) bodies.
func where(body []byte, off int64, lines bool) string {
	if lines {
		return fmt.Sprintf("byte %d (line %d)", off, lineAt(body, off))
	}
	return fmt.Sprintf("byte %d", off)
}

// lineAt returns the 1-based line of a byte offset.
func lineAt(body []byte, off int64) int {
	off = max(0, min(off, int64(len(body))))
	return 1 + bytes.Count(body[:off], []byte{'\n'})
}

// shortPointer quotes a JSON pointer, shortened to a few bytes.
func shortPointer(p jsontext.Pointer) string {
	s := string(p)
	if s == "" {
		s = "/"
	}
	return strconv.Quote(truncate(s, 48))
}

// truncate shortens s to at most n bytes, on a UTF-8 boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '[':
		return "an array"
	case '{':
		return "an object"
	}
	return "not JSON"
}

// skipSpace returns the offset of the first non-whitespace byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// isNDJSON reports whether a Content-Type names newline-delimited JSON.
func isNDJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	for _, t := range ndjsonTypes {
		if strings.EqualFold(mt, t) {
			return true
		}
	}
	return false
}

var ndjsonTypes = [...]string{
	"application/x-ndjson",
	"application/ndjson",
	"application/jsonl",
	"application/x-jsonl",
	"application/jsonlines",
	"application/x-jsonlines",
}

// mayHoldLargeInteger reports whether body holds a run of 16 or more digits, the only
// way to write an integer above 2^53 (9007199254740992) without an exponent. Bodies
// without one, nearly all, are decoded once, with every number a float64.
//
// Any 16 consecutive bytes hold a multiple of 15 as offset, so it looks only at those
// bytes and measures the run of digits around the ones that are digits: a tenth of the
// time a byte-by-byte scan takes.
func mayHoldLargeInteger(body []byte) bool {
	const run = 16
	for i := 0; i < len(body); i += run - 1 {
		if !isDigit(body[i]) {
			continue
		}
		start, end := i, i+1
		for start > 0 && isDigit(body[start-1]) {
			start--
		}
		for end < len(body) && isDigit(body[end]) && end-start < run {
			end++
		}
		if end-start >= run {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// decodeExact decodes a body that decode accepted again, value by value, so that every
// number goes through [Number]: one object, a batch (an array of objects), or NDJSON.
func decodeExact(body []byte) ([]any, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	var out []any
	for dec.PeekKind() != 0 {
		v, err := exactValue(dec)
		if err != nil {
			return nil, jsonError(err, body, true)
		}
		if list, ok := v.([]any); ok && out == nil {
			return list, nil // a batch
		}
		out = append(out, v)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, jsonError(err, body, true)
	}
	return out, nil
}

// exactValue reads one JSON value as the plain Go values decode builds, with every
// number read by Number.
func exactValue(dec *jsontext.Decoder) (any, error) {
	switch dec.PeekKind() {
	case '{':
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		m := make(map[string]any)
		for dec.PeekKind() != '}' {
			tok, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			name := tok.String() // before the next read voids tok
			v, err := exactValue(dec)
			if err != nil {
				return nil, err
			}
			m[name] = v
		}
		_, err := dec.ReadToken()
		return m, err
	case '[':
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		list := []any{}
		for dec.PeekKind() != ']' {
			v, err := exactValue(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err := dec.ReadToken()
		return list, err
	case '0':
		raw, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		return Number(string(raw))
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case 'n':
		return nil, nil
	case 't', 'f':
		return tok.Bool(), nil
	}
	return tok.String(), nil
}

// Number converts a JSON number literal to the Go value inlet holds it as, the same
// for every source type and carried exactly through CEL (int, uint or double) into
// the action's JSON:
//
//   - an integer (no fraction, no exponent) above 2^53 in magnitude that fits int64 is
//     an int64, and a larger positive one that fits uint64 a uint64, so that
//     12345678901234567890 stays 12345678901234567890;
//   - every other number is a float64, as encoding/json gives it: 42 is 42.0, and an
//     integer too large for uint64 is rounded.
//
// Keeping the integers a float64 holds exactly as float64 keeps CEL's arithmetic the
// same for all the numbers senders usually send (body.amount / 100 is a division of
// doubles).
func Number(lit string) (any, error) {
	if !strings.ContainsAny(lit, ".eE") {
		if i, err := strconv.ParseInt(lit, 10, 64); err == nil {
			if i > maxExactFloat || i < -maxExactFloat {
				return i, nil
			}
		} else if u, err := strconv.ParseUint(lit, 10, 64); err == nil {
			return u, nil
		}
	}
	return strconv.ParseFloat(lit, 64)
}
