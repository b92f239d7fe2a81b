package provider

import (
	"context"
	stdjson "encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"inlet.dev/inlet/ingress/events"
)

// FuzzDescribe checks that every built-in provider's Describe, Normalize and
// IdentifyTraits never panic on a decoded payload, that a refusal is a
// ReasonNoEventType *DecodeError, and that an accepted payload has a type, a valid key
// or none, and a normalised event that encodes to JSON.
func FuzzDescribe(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "events", "testdata", "*"))
	for _, name := range files {
		if info, err := os.Stat(name); err != nil || info.IsDir() {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(0), "msg_1", b)
	}
	f.Add(uint8(1), "", []byte(`{"type":"user.created","data":{"id":"u"}}`))
	f.Add(uint8(9), "k", []byte(`{"event":7,"type":{},"id":null}`))
	f.Add(uint8(4), "k", []byte(`{"type":"INSERT","schema":"auth","table":"users","record":{"id":7}}`))
	var builtins []Provider
	for _, t := range Types() {
		if p := registry[t]; p.Type() != "http" {
			builtins = append(builtins, p)
		}
	}
	f.Fuzz(func(t *testing.T, source uint8, key string, body []byte) {
		payloads, err := events.Decode("", body, 0)
		if err != nil {
			return
		}
		p := builtins[int(source)%len(builtins)]
		st := p.Type()
		d := describeFunc(p.(*builtin).describe)
		h := http.Header{"Svix-Id": {key}, "Idempotency-Key": {key}}
		for _, pl := range payloads {
			m := pl.(map[string]any)
			info, err := d.Describe(context.Background(), Event{Payload: m, Header: h})
			if err != nil {
				var de *events.DecodeError
				if !errors.As(err, &de) || de.Reason != events.ReasonNoEventType {
					t.Fatalf("Describe(%s) error %v", st, err)
				}
				continue
			}
			if info.Type == "" {
				t.Fatalf("Describe(%s): empty type", st)
			}
			if info.IdempotencyKey != "" && (info.KeyDropped || utf8.RuneCountInString(info.IdempotencyKey) > events.MaxKeyLength) {
				t.Fatalf("Describe(%s): bad key %q, dropped %v", st, info.IdempotencyKey, info.KeyDropped)
			}
			if out, err := stdjson.Marshal(events.Normalize(info, m)); err != nil || !stdjson.Valid(out) {
				t.Fatalf("normalised event does not encode: %v", err)
			}
			if userID, props, ok := events.IdentifyTraits(m); ok == (userID == "") || ok == (props == nil) {
				t.Fatalf("IdentifyTraits() = %q, %v, %v", userID, props, ok)
			}
		}
	})
}
