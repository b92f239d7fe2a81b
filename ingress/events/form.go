package events

import (
	"bytes"
	"errors"
	"strings"
	"unicode/utf8"
)

// ReasonInvalidForm is a form-encoded body with a malformed percent-escape.
const ReasonInvalidForm = "invalid_form"

// IsForm reports whether a Content-Type names a form-encoded body
// (application/x-www-form-urlencoded, with any parameters).
func IsForm(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/x-www-form-urlencoded")
}

// decodeForm reads a form-encoded body (application/x-www-form-urlencoded) as one
// payload, with the rules a JSON body follows, so that CEL sees the shape a JSON body
// would give:
//
//   - the body is name=value pairs separated by '&' (whitespace around the body
//     ignored, as around JSON), each name and value
//     percent-decoded with '+' as a space; a pair without '=' has the empty value, and
//     empty pairs ("a=1&&b=2") are skipped;
//   - the payload is an object of the names, each value a string;
//   - a form whose only field is payload holding JSON (how Slack sends interactions,
//     and GitHub its form deliveries) is that JSON, decoded as a JSON body is;
//   - a name given twice is refused (duplicate_key), as are bytes that are not UTF-8
//     once decoded (invalid_utf8), a malformed escape (invalid_form) and a body with no
//     pair (empty_body).
func decodeForm(body []byte, limit int) ([]any, error) {
	body = bytes.Trim(body, " \t\r\n") // as around a JSON value (a file sent with a final newline)
	m := map[string]any{}
	for off := 0; off < len(body); {
		end := bytes.IndexByte(body[off:], '&')
		if end < 0 {
			end = len(body)
		} else {
			end += off
		}
		pair := body[off:end]
		start := off
		off = end + 1
		if len(pair) == 0 {
			continue
		}
		rawName, rawValue, _ := bytes.Cut(pair, []byte{'='})
		name, ok := unescapeForm(rawName)
		if !ok {
			return nil, decodeError(ReasonInvalidForm, int64(start), "invalid form field at byte %d: a malformed %%-escape", start)
		}
		value, ok := unescapeForm(rawValue)
		if !ok {
			return nil, decodeError(ReasonInvalidForm, int64(start), "invalid form field at byte %d: a malformed %%-escape", start)
		}
		if !utf8.ValidString(name) || !utf8.ValidString(value) {
			return nil, decodeError(ReasonInvalidUTF8, int64(start), "invalid UTF-8 in the form field at byte %d", start)
		}
		if _, dup := m[name]; dup {
			return nil, decodeError(ReasonDuplicateKey, int64(start), "duplicate form field %q at byte %d", truncate(name, 48), start)
		}
		m[name] = value
	}
	if len(m) == 0 {
		return nil, decodeError(ReasonEmpty, -1, "empty body")
	}
	if p, ok := m["payload"].(string); ok && len(m) == 1 {
		if t := strings.TrimSpace(p); t != "" && (t[0] == '{' || t[0] == '[') {
			out, err := Decode("application/json", []byte(p), limit)
			if de, ok := errors.AsType[*DecodeError](err); ok {
				return nil, decodeError(de.Reason, -1, "form field payload: %s", de.msg)
			} else if err != nil {
				return nil, err
			}
			return out, nil
		}
	}
	return []any{m}, nil
}

// unescapeForm percent-decodes a form name or value, '+' meaning a space. It reports
// false for a '%' not followed by two hex digits.
func unescapeForm(b []byte) (string, bool) {
	if bytes.IndexByte(b, '%') < 0 && bytes.IndexByte(b, '+') < 0 {
		return string(b), true
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '+':
			out = append(out, ' ')
		case '%':
			if i+2 >= len(b) {
				return "", false
			}
			hi, ok1 := unhex(b[i+1])
			lo, ok2 := unhex(b[i+2])
			if !ok1 || !ok2 {
				return "", false
			}
			out = append(out, hi<<4|lo)
			i += 2
		default:
			out = append(out, c)
		}
	}
	return string(out), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
