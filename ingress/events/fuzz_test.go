package events

import (
	stdjson "encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"
)

var reasons = map[string]bool{
	ReasonEmpty: true, ReasonInvalidJSON: true, ReasonInvalidUTF8: true, ReasonDuplicateKey: true,
	ReasonNotObject: true, ReasonTrailingData: true, ReasonTooManyEvents: true, ReasonNoEventType: true,
}

// addSeeds adds every fixture and a few edge cases to a fuzz corpus.
func addSeeds(f *testing.F, add func(body []byte)) {
	files, _ := filepath.Glob("testdata/*")
	for _, name := range files {
		if info, err := os.Stat(name); err != nil || info.IsDir() {
			continue // testdata/fuzz, where go test keeps the inputs that failed
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
	for _, s := range []string{
		``, `{}`, `[]`, `[{}]`, "{}\n{}", `{"a":1,"a":2}`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}",
		`{"a":1e400}`, `[1]`, `"x"`, `{"a":1} x`, `{"type":"track","event":"e","messageId":1e21}`,
		`{"type":"INSERT","schema":"auth","table":"users","record":{"id":7}}`,
		`{"id":12345678901234567890,"n":[-9223372036854775808,18446744073709551616,9007199254740993.5]}`,
		"[{\"messageId\":9007199254740993}]", "{\"a\":1}\n{\"b\":-9007199254740993}",
	} {
		add([]byte(s))
	}
}

// FuzzDecode checks that Decode never panics, refuses only with a *DecodeError, and
// returns objects that encode back to JSON; when the body is a single JSON value,
// the payloads are exactly what encoding/json decodes.
func FuzzDecode(f *testing.F) {
	addSeeds(f, func(b []byte) { f.Add(false, uint8(3), b); f.Add(true, uint8(3), b) })
	f.Fuzz(func(t *testing.T, ndjson bool, limit uint8, body []byte) {
		ct := "application/json"
		if ndjson {
			ct = "application/x-ndjson"
		}
		payloads, err := Decode(ct, body, int(limit))
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
			}
			if !reasons[de.Reason] || de.Reason == ReasonNoEventType {
				t.Fatalf("unexpected reason %q", de.Reason)
			}
			if len(de.Error()) > 200 || !utf8.ValidString(de.Error()) {
				t.Fatalf("bad message %q", de.Error())
			}
			if payloads != nil {
				t.Fatalf("payloads with an error")
			}
			return
		}
		most := int(limit)
		if most < 1 {
			most = DefaultLimit
		}
		if len(payloads) == 0 || len(payloads) > most {
			t.Fatalf("%d payloads, limit %d", len(payloads), most)
		}
		for i, p := range payloads {
			if _, ok := p.(map[string]any); !ok {
				t.Fatalf("payload %d is a %T", i, p)
			}
			out, err := stdjson.Marshal(p)
			if err != nil || !stdjson.Valid(out) {
				t.Fatalf("payload %d does not re-encode: %v", i, err)
			}
		}
		if stdjson.Valid(body) {
			var want any
			if err := stdjson.Unmarshal(body, &want); err != nil {
				t.Fatalf("encoding/json: %v", err)
			}
			if list, ok := want.([]any); ok {
				want = any(list)
			} else {
				want = []any{want}
			}
			if !reflect.DeepEqual(asFloats(any(payloads)), want) {
				t.Fatalf("Decode() and encoding/json differ")
			}
		}
	})
}

// FuzzDecodePaths checks that DecodePaths refuses exactly the bodies Decode refuses,
// with the same error, and otherwise agrees with Decode on every path it selects,
// for paths written as a.b.c, comma-separated (see pathsOf).
func FuzzDecodePaths(f *testing.F) {
	addSeeds(f, func(b []byte) {
		for _, spec := range []string{"", "type", "a", "data.object.customer,id", "properties,userId", "a.b,s"} {
			f.Add(false, spec, b)
		}
		f.Add(true, "a", b)
	})
	f.Fuzz(func(t *testing.T, ndjson bool, spec string, body []byte) {
		ct := "application/json"
		if ndjson {
			ct = "application/x-ndjson"
		}
		checkPruned(t, ct, body, 3, pathsOf(spec))
	})
}

// asFloats returns v with every int64 and uint64 (the integers Decode keeps exact)
// turned into the float64 encoding/json gives for them.
func asFloats(v any) any {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case map[string]any:
		for k, e := range x {
			x[k] = asFloats(e)
		}
	case []any:
		for i, e := range x {
			x[i] = asFloats(e)
		}
	}
	return v
}
