package events

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// pathsOf builds a set from paths written as a.b.c, comma-separated; "" is no path,
// "." the whole payload.
func pathsOf(spec string) *Paths {
	p := &Paths{}
	for s := range strings.SplitSeq(spec, ",") {
		switch s {
		case "":
		case ".":
			p.Add()
		default:
			p.Add(strings.Split(s, ".")...)
		}
	}
	return p
}

// checkPruned decodes body with DecodePaths and with Decode, and fails unless they
// refuse it with the same error or DecodePaths gives exactly what paths holds of
// Decode's payloads.
func checkPruned(t testing.TB, contentType string, body []byte, limit int, paths *Paths) {
	t.Helper()
	want, wantErr := Decode(contentType, body, limit)
	got, err := DecodePaths(contentType, body, limit, paths)
	if wantErr != nil || err != nil {
		var de, wde *DecodeError
		if !errors.As(err, &de) || !errors.As(wantErr, &wde) || *de != *wde || got != nil {
			t.Fatalf("paths %s: DecodePaths() = %v, %v; Decode() = %v", paths, got, err, wantErr)
		}
		return
	}
	if len(got) != len(want) {
		t.Fatalf("paths %s: DecodePaths() = %d payloads, Decode() %d", paths, len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(paths.Prune(got[i]), paths.Prune(want[i])) {
			t.Fatalf("paths %s: payload %d:\nDecodePaths() = %v\nDecode() = %v", paths, i, got[i], want[i])
		}
	}
	// A single object, the body a pruned decode is for, is pruned exactly.
	start := skipSpace(body, 0)
	if !isNDJSON(contentType) && !IsForm(contentType) && len(want) == 1 && body[start] == '{' &&
		!mayHoldLargeInteger(body) && !mayHoldLargeExponent(body) {
		if p := paths.Prune(want[0]); !reflect.DeepEqual(got[0], p) {
			t.Fatalf("paths %s:\nDecodePaths() = %v\nwant %v", paths, got[0], p)
		}
	}
}

func TestPaths(t *testing.T) {
	for spec, want := range map[string]string{
		"":                       "",
		".":                      "body",
		"a.b,a.c,d":              "body.a.b, body.a.c, body.d",
		"a.b,a":                  "body.a",
		"a,a.b":                  "body.a",
		"data.object.customer,.": "body",
		"x.y.z,x.y,w":            "body.w, body.x.y",
	} {
		if got := pathsOf(spec).String(); got != want {
			t.Errorf("pathsOf(%q) = %q, want %q", spec, got, want)
		}
	}
	var all *Paths
	all.Add("a") // no-op: nil is everything
	if !all.All() || all.String() != "body" {
		t.Errorf("nil Paths = %q, want the whole payload", all)
	}
	p := pathsOf("a.b")
	p.AddPaths(pathsOf("c,a.d.e"))
	if got := p.String(); got != "body.a.b, body.a.d.e, body.c" {
		t.Errorf("AddPaths = %q", got)
	}
	p.AddPaths(nil)
	if !p.All() {
		t.Errorf("AddPaths(nil) = %q, want the whole payload", p)
	}
}

func TestDecodePaths(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"invoice.paid","a\u0062c":1,"data":{"object":{"customer":"cus_1",` +
		`"plan":{"id":"p","amount":5},"items":[{"id":1}],"note":"x"},"previous":{"a":1}},"n":null}`)
	for spec, want := range map[string]string{
		"":                         `{}`,
		"type":                     `{"type":"invoice.paid"}`,
		"abc,missing":              `{"abc":1}`,
		"data.object.customer":     `{"data":{"object":{"customer":"cus_1"}}}`,
		"data.object.plan.id,type": `{"type":"invoice.paid","data":{"object":{"plan":{"id":"p"}}}}`,
		"data.object.items.id":     `{"data":{"object":{"items":[{"id":1}]}}}`, // an array is kept whole
		"type.x,n.y":               `{"type":"invoice.paid","n":null}`,         // so is a scalar
		"data.object,data": `{"data":{"object":{"customer":"cus_1","plan":{"id":"p","amount":5},"items":[{"id":1}],"note":"x"},` +
			`"previous":{"a":1}}}`,
		"data.missing.x": `{"data":{}}`,
	} {
		got, err := DecodePaths("application/json", body, 1, pathsOf(spec))
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		if w := jsonValue(t, want); !reflect.DeepEqual(got, []any{w}) {
			t.Errorf("paths %s: got %v, want %v", spec, got[0], w)
		}
		checkPruned(t, "application/json", body, 1, pathsOf(spec))
	}
}

// TestDecodePathsAgrees decodes every fixture for the paths of each of its fields,
// and of each fixture's fields' fields.
func TestDecodePathsAgrees(t *testing.T) {
	files, _ := filepath.Glob("testdata/*")
	specs := []string{"", ".", "type,id", "data.object.customer,data.object.plan.id", "properties,traits.email",
		"record.id,old_record", "event,data.id,data.user_id", "a.b.c"}
	for _, name := range files {
		body := fixture(t, filepath.Base(name))
		for _, spec := range specs {
			checkPruned(t, "", body, DefaultLimit, pathsOf(spec))
			checkPruned(t, "application/x-ndjson", body, DefaultLimit, pathsOf(spec))
		}
		got, err := Decode("", body, DefaultLimit)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := got[0].(map[string]any)
		for k, v := range m {
			checkPruned(t, "", body, DefaultLimit, pathsOf(k))
			if sub, ok := v.(map[string]any); ok {
				for k2 := range sub {
					checkPruned(t, "", body, DefaultLimit, pathsOf(k+"."+k2))
				}
			}
		}
	}
}

// TestDecodePathsRefusesAsDecode checks that a body Decode refuses is refused with the
// same error whatever the paths, when the fault is in a value decoded and in one
// skipped.
func TestDecodePathsRefusesAsDecode(t *testing.T) {
	bodies := []string{
		``, ` `, `{`, `{"a":`, `{"a":1,}`, `{"a":1 "b":2}`, `{"a":1}x`, `{"a":1} {"b":2}`, "{\"a\":1}\x00",
		`{"a":1,"a":2}`, `{"s":{"a":1,"a":2}}`, `{"s":[{"a":1,"a":2}]}`, `{"a":1,"\u0061":2}`,
		`{"s":"\ud800"}`, "{\"s\":\"\xff\"}", "{\"\xff\":1}", `{"s":{"t":"\udc00x"}}`,
		`{"s":1e400}`, `{"s":{"t":-1E+309}}`, `{"s":[1e999]}`, `{"s":12345678901234567890123e300}`,
		`{"s":01}`, `{"s":1.}`, `{"s":tru}`, `{"s":nul}`, `{"s":"a` + "\n" + `"}`, `{1:2}`, `{"s":[1,]}`,
		`[]`, `[1]`, `"x"`, `1`, `null`, `{"a":1}]`,
		strings.Repeat(`{"s":`, 10001) + "1" + strings.Repeat("}", 10001),
		`{"t":1,"s":` + strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001) + `}`,
	}
	for _, b := range bodies {
		for _, spec := range []string{"", "s", "a", "s.t", "t", "."} {
			checkPruned(t, "application/json", []byte(b), DefaultLimit, pathsOf(spec))
		}
		if _, err := Decode("application/json", []byte(b), DefaultLimit); err == nil {
			t.Errorf("Decode(%.40q) accepts it: not a refusal to test", b)
		}
	}
}
