package events

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// Integers that a float64 cannot hold exactly stay exact, wherever they are in the body
// and whatever its shape; the others stay float64, as encoding/json gives them.
func TestDecodeKeepsLargeIntegersExact(t *testing.T) {
	want := map[string]any{
		"i64max": int64(math.MaxInt64),
		"i64min": int64(math.MinInt64),
		"u64max": uint64(math.MaxUint64),
		"p53":    int64(1<<53 + 1),
		"n53":    int64(-(1<<53 + 1)),
		"id":     uint64(12345678901234567890),
		"exact":  float64(1 << 53),
		"small":  42.0,
		"frac":   0.1234567890123456789,
		"huge":   1.2345678901234568e29,
		"exp":    1e19,
		"nested": map[string]any{"list": []any{int64(1<<53 + 1), "12345678901234567890", 7.0}},
	}
	object := `{"i64max":9223372036854775807,"i64min":-9223372036854775808,"u64max":18446744073709551615,
		"p53":9007199254740993,"n53":-9007199254740993,"id":12345678901234567890,"exact":9007199254740992,
		"small":42,"frac":0.1234567890123456789,"huge":123456789012345678901234567890,"exp":1e19,
		"nested":{"list":[9007199254740993,"12345678901234567890",7]}}`
	bodies := map[string]struct {
		contentType, body string
		n                 int
	}{
		"object": {"application/json", object, 1},
		"batch":  {"application/json", "[" + object + "," + object + "]", 2},
		"ndjson": {"application/x-ndjson", strings.ReplaceAll(object, "\n", "") + "\n" + strings.ReplaceAll(object, "\n", ""), 2},
	}
	for name, tc := range bodies {
		t.Run(name, func(t *testing.T) {
			got, err := Decode(tc.contentType, []byte(tc.body), DefaultLimit)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.n {
				t.Fatalf("%d payloads, want %d", len(got), tc.n)
			}
			for i, p := range got {
				if !reflect.DeepEqual(p, want) {
					t.Errorf("payload %d =\n%#v\nwant\n%#v", i, p, want)
				}
			}
		})
	}
}

// Bodies Decode refuses are refused the same way when they hold a large integer.
func TestDecodeRefusesWithLargeIntegers(t *testing.T) {
	for body, reason := range map[string]string{
		`{"id":12345678901234567890,"id":1}`: ReasonDuplicateKey,
		`{"id":12345678901234567890`:         ReasonInvalidJSON,
		`[{"id":12345678901234567890},1]`:    ReasonNotObject,
		`{"id":1e99999}`:                     ReasonInvalidJSON,
	} {
		_, err := Decode("", []byte(body), DefaultLimit)
		de, ok := err.(*DecodeError)
		if !ok || de.Reason != reason {
			t.Errorf("Decode(%s) = %v, want reason %s", body, err, reason)
		}
	}
}

func TestNumber(t *testing.T) {
	tests := map[string]any{
		"0":                    0.0,
		"-0":                   math.Copysign(0, -1),
		"42":                   42.0,
		"9007199254740992":     float64(1 << 53),
		"-9007199254740992":    -float64(1 << 53),
		"9007199254740993":     int64(1<<53 + 1),
		"9223372036854775807":  int64(math.MaxInt64),
		"9223372036854775808":  uint64(1 << 63),
		"18446744073709551615": uint64(math.MaxUint64),
		"18446744073709551616": float64(1 << 64),
		"-9223372036854775809": -float64(1 << 63),
		"12.5":                 12.5,
		"1e19":                 1e19,
		"9007199254740993.0":   float64(1 << 53),
		"90071992547409930E-1": float64(1 << 53),
	}
	for lit, want := range tests {
		got, err := Number(lit)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Number(%s) = %#v, %v; want %#v", lit, got, err, want)
		}
	}
}

// ID and Key are the one rule for ids and idempotency keys of every source type.
func TestIDAndKey(t *testing.T) {
	u200 := strings.Repeat("ü", 200) // 400 bytes, 200 characters
	u256 := strings.Repeat("ü", 256)
	tests := map[string]struct {
		v       any
		id      string
		isID    bool
		key     string
		dropped bool
	}{
		"string":                   {v: "evt_1", id: "evt_1", isID: true, key: "evt_1"},
		"200 ü characters":         {v: u200, id: u200, isID: true, key: u200},
		"256 ü characters":         {v: u256, id: u256, isID: true, dropped: true},
		"empty string":             {v: "", isID: true, dropped: true},
		"float64 integer":          {v: 42.0, id: "42", isID: true, key: "42"},
		"negative float64 integer": {v: -7.0, id: "-7", isID: true, key: "-7"},
		"2^53":                     {v: float64(1 << 53), id: "9007199254740992", isID: true, key: "9007199254740992"},
		"float64 beyond 2^53":      {v: 1e21, dropped: true},
		"fraction":                 {v: 12.5, dropped: true},
		"NaN":                      {v: math.NaN(), dropped: true},
		"int64 max":                {v: int64(math.MaxInt64), id: "9223372036854775807", isID: true, key: "9223372036854775807"},
		"uint64 max":               {v: uint64(math.MaxUint64), id: "18446744073709551615", isID: true, key: "18446744073709551615"},
		"2^53+1":                   {v: int64(1<<53 + 1), id: "9007199254740993", isID: true, key: "9007199254740993"},
		"bool":                     {v: true, dropped: true},
		"list":                     {v: []any{"a"}, dropped: true},
		"map":                      {v: map[string]any{}, dropped: true},
		"null is no key":           {v: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			id, ok := ID(tc.v)
			if id != tc.id || ok != tc.isID {
				t.Errorf("ID() = %q, %v; want %q, %v", id, ok, tc.id, tc.isID)
			}
			key, dropped := Key(tc.v)
			if key != tc.key || dropped != tc.dropped {
				t.Errorf("Key() = %q, %v; want %q, %v", key, dropped, tc.key, tc.dropped)
			}
		})
	}
}

func TestMayHoldLargeInteger(t *testing.T) {
	for i := range 40 {
		for _, n := range []int{15, 16, 17, 31} {
			body := []byte(strings.Repeat("x", i) + strings.Repeat("7", n) + strings.Repeat("y", i%3))
			if got, want := mayHoldLargeInteger(body), n >= 16; got != want {
				t.Errorf("offset %d, %d digits: got %v, want %v", i, n, got, want)
			}
		}
	}
	if mayHoldLargeInteger([]byte(strings.Repeat("123456789012345 ", 100))) {
		t.Error("runs of 15 digits reported")
	}
}
