package provider

import (
	"cmp"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"inlet.dev/inlet/api/v1alpha1"
	sampleevents "inlet.dev/inlet/config/samples/events"
	"inlet.dev/inlet/ingress/celext"
	"inlet.dev/inlet/ingress/events"
)

// describeBody decodes body for paths (all of it when nil) and describes its payloads.
func describeBody(d Describer, h http.Header, body []byte, paths *events.Paths) ([]events.Info, []error, error) {
	payloads, err := events.DecodePaths(h.Get("Content-Type"), body, 0, paths)
	if err != nil {
		return nil, nil, err
	}
	payloads = Expand(d, payloads)
	infos, errs := make([]events.Info, len(payloads)), make([]error, len(payloads))
	for i, p := range payloads {
		m, _ := p.(map[string]any)
		infos[i], errs[i] = d.Describe(context.Background(), Event{Payload: m, Header: h, Headers: LowerHeaders(h), RawBody: body})
	}
	return infos, errs, nil
}

// checkIdentifyReads fails unless IdentifyTraits, which identifyUsers runs, finds the
// same user and traits in body decoded for what d and identifyUsers read as in body
// decoded whole.
func checkIdentifyReads(t *testing.T, r BodyReads, h http.Header, body []byte) {
	t.Helper()
	withIdentify := &events.Paths{}
	withIdentify.AddPaths(r.Info)
	withIdentify.AddPaths(events.IdentifyPaths())
	whole, _ := events.Decode(h.Get("Content-Type"), body, 0)
	pruned, err := events.DecodePaths(h.Get("Content-Type"), body, 0, withIdentify)
	if err != nil {
		t.Fatalf("paths %s: %v", withIdentify, err)
	}
	for j := range whole {
		m, _ := whole[j].(map[string]any)
		pm, _ := pruned[j].(map[string]any)
		id, props, ok := events.IdentifyTraits(m)
		pid, pprops, pok := events.IdentifyTraits(pm)
		if pid != id || pok != ok || !reflect.DeepEqual(pprops, props) {
			t.Fatalf("paths %s: IdentifyTraits() = %q, %v, %v; decoded whole %q, %v, %v", withIdentify, pid, pprops, pok, id, props, ok)
		}
	}
}

// checkReads fails unless describing body decoded for what d says it reads gives
// what describing it decoded whole gives: the same event type, key, user id, identify
// flag, preprocess result and error, and, decoding also a field of where the data
// comes from, the same value of that field in the data.
func checkReads(t *testing.T, d Describer, h http.Header, body []byte) {
	t.Helper()
	r := Reads(d)
	if r.Info == nil {
		return // reads the whole payload: nothing is pruned
	}
	full, fullErrs, err := describeBody(d, h, body, nil)
	if err != nil {
		return // a refused body is refused whatever the paths (package events)
	}
	checkIdentifyReads(t, r, h, body)
	// Every field of the data, one at a time, then all of them at once.
	var fields [][]string
	for _, info := range full {
		if m, ok := info.Data.(map[string]any); ok {
			for k := range m {
				fields = append(fields, []string{k})
			}
		}
	}
	for i, field := range append(slices.Clone(fields), nil) {
		paths := &events.Paths{}
		paths.AddPaths(r.Info)
		for _, from := range r.Data {
			switch {
			case i < len(fields):
				paths.Add(append(slices.Clone(from), field...)...)
			case len(fields) == 0: // data that is not an object, or an empty one: read whole
				paths.Add(from...)
			default:
				for _, f := range fields {
					paths.Add(append(slices.Clone(from), f...)...)
				}
			}
		}
		got, errs, err := describeBody(d, h, body, paths)
		if err != nil {
			t.Fatalf("paths %s: %v", paths, err)
		}
		for j := range full {
			want, info := full[j], got[j]
			if (errs[j] == nil) != (fullErrs[j] == nil) || (errs[j] != nil && errs[j].Error() != fullErrs[j].Error()) {
				t.Fatalf("paths %s: payload %d: Describe() error %v, decoded whole %v", paths, j, errs[j], fullErrs[j])
			}
			wantData, gotData := want.Data, info.Data
			want.Data, info.Data = nil, nil
			if !reflect.DeepEqual(info, want) {
				t.Fatalf("paths %s: payload %d: Describe() =\n%+v\ndecoded whole\n%+v", paths, j, info, want)
			}
			if r.Data == nil {
				continue // no data is pruned: event.data reads the whole payload
			}
			m, _ := wantData.(map[string]any)
			switch {
			case m == nil && !reflect.DeepEqual(gotData, wantData):
				t.Fatalf("paths %s: payload %d: data %v, decoded whole %v", paths, j, gotData, wantData)
			case m != nil && i < len(fields):
				k := field[0]
				gm, _ := gotData.(map[string]any)
				if v, ok := m[k]; ok && !reflect.DeepEqual(gm[k], v) {
					t.Fatalf("paths %s: payload %d: data.%s = %v, decoded whole %v", paths, j, k, gm[k], v)
				}
			case m != nil && !reflect.DeepEqual(gotData, wantData):
				t.Fatalf("paths %s: payload %d: data %v, decoded whole %v", paths, j, gotData, wantData)
			}
		}
	}
}

// TestReadsAgree describes every sample payload and every fixture with every
// provider, decoded for what the provider reads and decoded whole (checkReads); the
// http source with the sample's expressions and with a preprocess expression.
func TestReadsAgree(t *testing.T) {
	env, err := celext.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	type body struct {
		name string
		data []byte
		h    http.Header
	}
	var bodies []body
	for _, typ := range Types() {
		for _, name := range sampleevents.List(string(typ)) {
			data, err := sampleevents.Sample(string(typ), name)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			for _, line := range sampleevents.Headers(string(typ), name) {
				k, v, _ := strings.Cut(line, ":")
				h.Set(strings.TrimSpace(k), strings.TrimSpace(v))
			}
			if data = []byte(strings.TrimSpace(string(data))); data[0] != '{' && data[0] != '[' {
				h.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			bodies = append(bodies, body{string(typ) + "/" + name, data, h})
		}
	}
	files, _ := filepath.Glob(filepath.Join("..", "events", "testdata", "*"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{"X-Shopify-Topic": {"orders/create"}, "Svix-Id": {"msg_1"}}
		bodies = append(bodies, body{filepath.Base(f), data, h})
	}
	for _, extra := range []string{
		`{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","user":{"id":"U1"},"text":"hi"}}`,
		`{"command":"/x","trigger_id":"t1","user_id":"U2","text":"a"}`,
		`{"schema":"auth","table":"users","type":"DELETE","old_record":{"id":"u1","email":"a@b"},"record":null}`,
		`{"type":"identify","userId":42,"traits":{"email":"a@b","name":"A"},"messageId":"m1"}`,
		`{"event":"$identify","distinct_id":"d1","properties":{"$set":{"email":"a@b"},"x":1},"uuid":"u1"}`,
		`{"type":"user.created","data":{"id":"user_1","email":"a@b"}}`,
		`{"type":"x","data":"not an object","id":7}`,
		`{"type":"x","data":{"object":"a string"}}`,
		`{"type":"x","data":{"object":{"object":"customer","id":"cus_9"}}}`,
	} {
		bodies = append(bodies, body{extra, []byte(extra), http.Header{"X-Shopify-Topic": {"customers/create"}}})
	}
	sources := sampleSources(t)
	specs := map[string]v1alpha1.SourceSpec{}
	for _, typ := range Types() {
		specs[string(typ)] = sources[typ].Spec
	}
	specs["http/preprocess"] = v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
		Verification: v1alpha1.Verification{Type: v1alpha1.VerificationNone},
		Preprocess:   "{'kind': body.?type.orValue('none'), 'who': body.?data.?id.orValue(0)}",
		EventType:    "preprocess.kind", IdempotencyKey: "body.id", UserID: "body[?'userId'].orValue(body.?user_id.orValue(''))",
	}}
	specs["http/default"] = v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
		Verification: v1alpha1.Verification{Type: v1alpha1.VerificationNone},
	}}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			secret := cmp.Or(sampleSecrets[spec.Type], "s3cret-s3cret")
			c, err := Compile(Config{Source: &v1alpha1.Source{Spec: spec}, Secrets: []string{secret}, CEL: env})
			if err != nil {
				t.Fatal(err)
			}
			if spec.Type != v1alpha1.SourceTypeAmplitude && Reads(c.Describer).Info == nil {
				t.Errorf("%s reads the whole payload", name)
			}
			for _, b := range bodies {
				checkReads(t, c.Describer, b.h, b.data)
			}
		})
	}
}

// FuzzReads checks what every provider says it reads against describing the whole
// payload (checkReads), for any body.
func FuzzReads(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "events", "testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(0), b)
	}
	f.Add(uint8(3), []byte(`{"type":"x","data":{"object":"s","id":1},"event":{"type":"t","user":{"id":"u"}}}`))
	f.Add(uint8(5), []byte(`{"schema":"auth","table":"users","type":"DELETE","old_record":{"id":7},"record":[1]}`))
	var describers []Describer
	for _, typ := range Types() {
		spec := v1alpha1.SourceSpec{Type: typ}
		if typ == v1alpha1.SourceTypeHTTP {
			spec.HTTP = &v1alpha1.HTTPSource{Verification: v1alpha1.Verification{Type: v1alpha1.VerificationNone},
				Preprocess: "body.?data.?items.orValue([])", EventType: "body.?type.orValue('none')", UserID: "body.user.id"}
		}
		env, err := celext.NewEnv()
		if err != nil {
			f.Fatal(err)
		}
		c, err := Compile(Config{Source: &v1alpha1.Source{Spec: spec}, Secrets: []string{cmp.Or(sampleSecrets[typ], "s3cret-s3cret")}, CEL: env})
		if err != nil {
			f.Fatal(err)
		}
		describers = append(describers, c.Describer)
	}
	f.Fuzz(func(t *testing.T, source uint8, body []byte) {
		h := http.Header{"X-Shopify-Topic": {"customers/update"}, "Svix-Id": {"m"}}
		checkReads(t, describers[int(source)%len(describers)], h, body)
	})
}
