package events

import (
	stdjson "encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixture reads a file of testdata.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonValue decodes s with encoding/json, the reference for the values Decode returns.
// payloadOf decodes a one-object body.
func payloadOf(t testing.TB, body string) map[string]any {
	t.Helper()
	got, err := Decode("application/json", []byte(body), 1)
	if err != nil {
		t.Fatalf("Decode(%.80q): %v", body, err)
	}
	return got[0].(map[string]any)
}

func jsonValue(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := stdjson.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %q: %v", s, err)
	}
	return v
}

func TestDecode(t *testing.T) {
	long := strings.Repeat("x", 10000)
	tests := map[string]struct {
		contentType string
		body        string
		limit       int
		want        string // JSON array of the payloads expected
		reason      string // DecodeError.Reason expected instead
		msg         string // part of the error message
	}{
		"object": {
			contentType: "application/json",
			body:        `{"id":"evt_1","type":"invoice.paid","data":{"object":{"amount_paid":4900,"paid":true,"lines":[1,2.5,null,"x"]}}}`,
			want:        `[{"id":"evt_1","type":"invoice.paid","data":{"object":{"amount_paid":4900,"paid":true,"lines":[1,2.5,null,"x"]}}}]`,
		},
		"object with surrounding whitespace and charset": {
			contentType: "application/json; charset=utf-8",
			body:        "\r\n\t {\"a\": \"é ✓ \\u00e9\\ud83d\\ude00\"} \n\n",
			want:        `[{"a":"é ✓ é😀"}]`,
		},
		"empty object": {
			body: `{}`,
			want: `[{}]`,
		},
		"content type is not checked": {
			contentType: "text/plain",
			body:        `{"a":1}`,
			want:        `[{"a":1}]`,
		},
		"batch": {
			contentType: "application/json",
			body:        `[{"type":"track","event":"a","messageId":"m1"}, {"type":"identify","messageId":"m2"}]`,
			want:        `[{"type":"track","event":"a","messageId":"m1"},{"type":"identify","messageId":"m2"}]`,
		},
		"batch at the limit": {
			body:  `[{"n":1},{"n":2},{"n":3}]`,
			limit: 3,
			want:  `[{"n":1},{"n":2},{"n":3}]`,
		},
		"ndjson by content type": {
			contentType: "application/x-ndjson",
			body:        "{\"n\":1}\n{\"n\":2}\n",
			want:        `[{"n":1},{"n":2}]`,
		},
		"ndjson by content type, jsonl, blank lines and CRLF": {
			contentType: "Application/JSONL; charset=utf-8",
			body:        "\r\n{\"n\":1}\r\n\r\n   \r\n{\"n\":2}\r\n\r\n",
			want:        `[{"n":1},{"n":2}]`,
		},
		"ndjson single line": {
			contentType: "application/x-ndjson",
			body:        `{"n":1}`,
			want:        `[{"n":1}]`,
		},
		"ndjson detected without content type": {
			contentType: "application/json",
			body:        "{\"n\":1}\n{\"n\":2}\n{\"n\":3}",
			want:        `[{"n":1},{"n":2},{"n":3}]`,
		},
		"ndjson at the limit": {
			body:  "{}\n{}",
			limit: 2,
			want:  `[{},{}]`,
		},
		"ndjson census records": {
			contentType: "application/x-ndjson",
			body:        string(fixture(t, "census_records.ndjson")),
			want: `[{"id":"u-1","email":"a@example.com","lifecycle_stage":"customer"},
				{"id":"u-2","email":"b@example.com","lifecycle_stage":"lead"},
				{"id":3,"email":"c@example.com","type":"lead_scored","score":88}]`,
		},
		"large numbers keep float64 values": {
			body: `{"a":1e21,"b":-0.000001,"c":9007199254740992,"d":1.7976931348623157e308,"e":123456789012345678901234567890}`,
			want: `[{"a":1e21,"b":-0.000001,"c":9007199254740992,"d":1.7976931348623157e308,"e":123456789012345678901234567890}]`,
		},

		"empty body":                    {body: ``, reason: ReasonEmpty, msg: "empty body"},
		"whitespace body":               {body: " \r\n\t", reason: ReasonEmpty, msg: "empty body"},
		"ndjson with blank lines only":  {contentType: "application/x-ndjson", body: "\n\n", reason: ReasonEmpty},
		"empty batch":                   {body: `[ ]`, reason: ReasonEmpty, msg: "empty batch"},
		"string":                        {body: `"evt"`, reason: ReasonNotObject, msg: "body is a string, not a JSON object"},
		"number":                        {body: `42`, reason: ReasonNotObject, msg: "body is a number"},
		"boolean":                       {body: `true`, reason: ReasonNotObject, msg: "body is a boolean"},
		"null":                          {body: `null`, reason: ReasonNotObject, msg: "body is null"},
		"batch of scalars":              {body: `[{"a":1}, "b"]`, reason: ReasonNotObject, msg: "batch element 1 is a string"},
		"nested batch":                  {body: `[[{"a":1}]]`, reason: ReasonNotObject, msg: "batch element 0 is an array"},
		"ndjson array line":             {contentType: "application/x-ndjson", body: `[{"a":1}]`, reason: ReasonNotObject, msg: "line 1 is an array"},
		"ndjson scalar line":            {body: "{\"a\":1}\n\n7\n", reason: ReasonNotObject, msg: "line 3 is a number"},
		"ndjson array after an object":  {body: "{\"a\":1}\n[{}]", reason: ReasonNotObject, msg: "line 2 is an array"},
		"batch over the limit":          {body: `[{},{},{},{}]`, limit: 3, reason: ReasonTooManyEvents, msg: "more than 3 events"},
		"ndjson over the limit":         {body: "{}\n{}\n{}\n{}", limit: 3, reason: ReasonTooManyEvents, msg: "more than 3 events"},
		"ndjson over the default limit": {body: strings.Repeat("{}\n", DefaultLimit+1), reason: ReasonTooManyEvents, msg: "more than 1000 events"},
		"batch over the default limit":  {body: "[" + strings.Repeat("{},", DefaultLimit) + "{}]", limit: -1, reason: ReasonTooManyEvents},
		"syntax error":                  {body: `{"a":1,}`, reason: ReasonInvalidJSON, msg: "invalid JSON at byte 6"},
		"bad literal":                   {body: `{"a":tru}`, reason: ReasonInvalidJSON, msg: "in literal true"},
		"truncated object":              {body: `{"a":{"b":`, reason: ReasonInvalidJSON, msg: "unexpected end of input"},
		"truncated batch":               {body: `[{"a":1},`, reason: ReasonInvalidJSON, msg: "unexpected end of input"},
		"batch with a trailing comma":   {body: `[{"a":1},]`, reason: ReasonInvalidJSON},
		"not JSON":                      {body: `<xml/>`, reason: ReasonInvalidJSON, msg: "at byte 0"},
		"form body labelled JSON":       {body: `a=1&b=2`, reason: ReasonInvalidJSON}, // a form is read as one only by its Content-Type (form_test.go)
		"byte order mark":               {body: "\ufeff{}", reason: ReasonInvalidJSON},
		"control character in string":   {body: "{\"a\":\"x\x01\"}", reason: ReasonInvalidJSON},
		"number out of range":           {body: `{"a":1e400}`, reason: ReasonInvalidJSON, msg: "number out of range"},
		"ndjson syntax error names the line": {
			contentType: "application/x-ndjson", body: "{\"a\":1}\n{\"a\":2}\n{\"a\":}\n",
			reason: ReasonInvalidJSON, msg: "(line 3)",
		},
		"invalid UTF-8":               {body: "{\"name\":\"caf\xe9\"}", reason: ReasonInvalidUTF8, msg: "invalid UTF-8 at byte 12"},
		"invalid UTF-8 in a key":      {body: "{\"\xff\":1}", reason: ReasonInvalidUTF8},
		"lone surrogate escape":       {body: `{"a":"\ud800"}`, reason: ReasonInvalidUTF8},
		"duplicate key":               {body: `{"type":"a","type":"b"}`, reason: ReasonDuplicateKey, msg: `duplicate object key "/type"`},
		"nested duplicate key":        {body: `{"data":{"object":{"customer":"a","customer":"b"}}}`, reason: ReasonDuplicateKey, msg: `"/data/object/customer"`},
		"duplicate key in batch":      {body: `[{"a":1},{"b":1,"b":2}]`, reason: ReasonDuplicateKey},
		"duplicate key in ndjson":     {body: "{\"a\":1}\n{\"b\":1,\"b\":2}", reason: ReasonDuplicateKey, msg: "(line 2)"},
		"duplicate key by escape":     {body: `{"a":1,"\u0061":2}`, reason: ReasonDuplicateKey},
		"long duplicate key is cut":   {body: `{"` + long + `":1,"` + long + `":2}`, reason: ReasonDuplicateKey, msg: "…"},
		"trailing garbage":            {body: `{"a":1} x`, reason: ReasonTrailingData, msg: "unexpected data at byte 8 after the JSON object"},
		"two objects on one line":     {body: `{"a":1} {"b":2}`, reason: ReasonTrailingData, msg: "must each start on a new line"},
		"trailing data after a batch": {body: "[{\"a\":1}]\n[{\"b\":2}]", reason: ReasonTrailingData, msg: "after the JSON array"},
		"trailing NUL":                {body: "{\"a\":1}\x00", reason: ReasonTrailingData},
		"ndjson objects on one line":  {contentType: "application/x-ndjson", body: "{\"a\":1}\n{\"b\":2}{\"c\":3}", reason: ReasonTrailingData, msg: "(line 2)"},
		"deeply nested":               {body: strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001), reason: ReasonInvalidJSON, msg: "depth"},
		"long string then garbage":    {body: `{"a":"` + long + `"}` + long, reason: ReasonTrailingData},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			limit := tc.limit
			if limit == 0 {
				limit = DefaultLimit
			}
			got, err := Decode(tc.contentType, []byte(tc.body), limit)
			if tc.reason != "" {
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("Decode() = %d payloads, %v; want a *DecodeError", len(got), err)
				}
				if de.Reason != tc.reason {
					t.Errorf("Reason = %q, want %q (%v)", de.Reason, tc.reason, err)
				}
				if !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("error %q does not contain %q", err, tc.msg)
				}
				if len(err.Error()) > 200 {
					t.Errorf("error message is %d bytes long: %.300q", len(err.Error()), err)
				}
				if got != nil {
					t.Errorf("payloads = %v, want nil with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode() error = %v", err)
			}
			want := jsonValue(t, tc.want).([]any)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Decode() =\n%#v\nwant\n%#v", got, want)
			}
			for i, p := range got {
				if _, ok := p.(map[string]any); !ok {
					t.Errorf("payload %d is a %T, want map[string]any", i, p)
				}
			}
		})
	}
}

// TestDecodeAgreesWithEncodingJSON checks that the decoder gives exactly the values
// encoding/json gives for every fixture: the same maps, slices, float64s and strings.
func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body := fixture(t, filepath.Base(f))
			got, err := Decode("application/json", body, DefaultLimit)
			if err != nil {
				t.Fatal(err)
			}
			var want any
			if err := stdjson.Unmarshal(body, &want); err != nil {
				t.Fatal(err)
			}
			if list, ok := want.([]any); ok {
				if !reflect.DeepEqual(got, list) {
					t.Errorf("Decode() differs from encoding/json")
				}
				return
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
				t.Errorf("Decode() differs from encoding/json")
			}
		})
	}
}

// TestDecodeDoesNotAliasBody checks that payloads do not share memory with the body,
// which the server may reuse.
func TestDecodeDoesNotAliasBody(t *testing.T) {
	body := []byte(`{"id":"evt_1","data":{"k":"v"}}`)
	got, err := Decode("", body, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 'x'
	}
	want := jsonValue(t, `{"id":"evt_1","data":{"k":"v"}}`)
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("payload changed with the body: %v", got[0])
	}
}

func TestIsNDJSON(t *testing.T) {
	tests := map[string]bool{
		"application/x-ndjson":                   true,
		"application/ndjson":                     true,
		"application/jsonl":                      true,
		"application/x-jsonl":                    true,
		"application/jsonlines":                  true,
		"application/x-jsonlines":                true,
		" APPLICATION/X-NDJSON ; charset=utf-8":  true,
		"application/json":                       false,
		"application/json; x=application/ndjson": false,
		"":                                       false,
		"text/plain":                             false,
	}
	for ct, want := range tests {
		t.Run(ct, func(t *testing.T) {
			if got := isNDJSON(ct); got != want {
				t.Errorf("isNDJSON(%q) = %v, want %v", ct, got, want)
			}
		})
	}
}

// TestDecodeConcurrent decodes in parallel through the pooled decoders; run with -race.
func TestDecodeConcurrent(t *testing.T) {
	bodies := map[string]int{
		string(fixture(t, "census_records.ndjson")): 3,
		"{\"a\":1}\n{\"b\":2}":                      2,
		`[{"a":1},{"b":2},{"c":3}]`:                 3,
		`[{"a":1},2]`:                               0,
		`{"a":1,"a":2}`:                             0,
	}
	for name, want := range bodies {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for range 200 {
				got, err := Decode("application/json", []byte(name), DefaultLimit)
				if want == 0 && err == nil || want > 0 && (err != nil || len(got) != want) {
					t.Fatalf("Decode() = %d payloads, %v; want %d", len(got), err, want)
				}
			}
		})
	}
}
