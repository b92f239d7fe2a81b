package events

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// MaxKeyLength is the longest idempotency key kept, in characters (not bytes). A longer
// key is dropped and the event processed without idempotency.
const MaxKeyLength = 255

// maxExactFloat is 2^53: every integer up to it in magnitude is exact as a float64,
// and above it a float64 may stand for another integer than the one sent.
const maxExactFloat = 1 << 53

// ID turns a value into an id (a user id, an idempotency key, an action's id field),
// with the one rule every source type and every mapping shares:
//
//   - a string is the id as it is;
//   - an integer is written in decimal, without exponent: an int64 or uint64 (how
//     Decode and CEL hold integers beyond 2^53), or a float64 with an integral value of
//     at most 2^53 in magnitude (how Decode holds the other JSON numbers: 42 is "42");
//   - anything else is not an id: a fraction, a float64 above 2^53 (it may have lost
//     digits: 123456789012345678901234567890 does not fit uint64), NaN, a bool, null,
//     a list or a map.
//
// Examples: "evt_1" is "evt_1"; 42.0 is "42"; uint64(12345678901234567890) is
// "12345678901234567890"; 12.5 and 1e21 are not ids.
func ID(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= maxExactFloat {
			return strconv.FormatInt(int64(x), 10), true
		}
	}
	return "", false
}

// Key turns a value into an idempotency key with the rule every source type shares:
// an [ID] that is not empty and has at most [MaxKeyLength] characters. A nil value is
// no key (key "", dropped false); any other value that fails the rule is dropped
// (key "", dropped true), and the event is processed without idempotency.
func Key(v any) (key string, dropped bool) {
	if v == nil {
		return "", false
	}
	k, ok := ID(v)
	if !ok || !validKey(k) {
		return "", true
	}
	return k, false
}

// validKey reports whether k is a usable key: not empty, at most MaxKeyLength
// characters.
func validKey(k string) bool {
	return k != "" && (len(k) <= MaxKeyLength || utf8.RuneCountInString(k) <= MaxKeyLength)
}
