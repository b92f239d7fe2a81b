package provider

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/celext"
	"inlet.dev/inlet/ingress/events"
)

// keyPlaces says where each provider reads the idempotency key: a body field, or a
// header (which carries any key as text). Every provider is listed: "" for none.
var keyPlaces = map[v1alpha1.SourceType]struct{ field, header string }{
	v1alpha1.SourceTypeStripe:      {field: "id"},
	v1alpha1.SourceTypeWorkOS:      {field: "id"},
	v1alpha1.SourceTypePostHog:     {field: "messageId"},
	v1alpha1.SourceTypeSegment:     {field: "messageId"},
	v1alpha1.SourceTypeRudderStack: {field: "messageId"},
	v1alpha1.SourceTypeJitsu:       {field: "messageId"},
	v1alpha1.SourceTypeFreshpaint:  {field: "messageId"},
	v1alpha1.SourceTypeHTTP:        {field: "key"}, // spec.http.idempotencyKey: body.key
	v1alpha1.SourceTypeClerk:       {header: "Svix-Id"},
	v1alpha1.SourceTypeHightouch:   {header: "Idempotency-Key"},
	v1alpha1.SourceTypeCensus:      {header: "Idempotency-Key"},
	v1alpha1.SourceTypePolytomic:   {header: "Idempotency-Key"},
	v1alpha1.SourceTypeSupabase:    {},
	v1alpha1.SourceTypeSlack:       {field: "trigger_id"}, // an interaction's; a callback's is body.event_id
	v1alpha1.SourceTypeShopify:     {header: "X-Shopify-Event-Id"},
	v1alpha1.SourceTypeAmplitude:   {field: "$insert_id"}, // an event's
	v1alpha1.SourceTypeClay:        {header: "Idempotency-Key"},
}

// TestKeyRuleIsOneForEveryProvider is the proof that the key rule is one: a key is
// counted in characters, not bytes, and a numeric key is written as its digits, for
// every provider, http (whose key is a CEL expression's result) included. Before the
// rule lived once, http counted bytes and dropped numbers that the built-in types kept.
func TestKeyRuleIsOneForEveryProvider(t *testing.T) {
	env, err := celext.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]struct {
		json    string // the key as it is in the body
		text    bool   // a header can carry it
		want    string
		dropped bool
	}{
		"255 characters":          {json: strconv.Quote(strings.Repeat("k", 255)), text: true, want: strings.Repeat("k", 255)},
		"256 characters":          {json: strconv.Quote(strings.Repeat("k", 256)), text: true, dropped: true},
		"255 two-byte characters": {json: strconv.Quote(strings.Repeat("é", 255)), text: true, want: strings.Repeat("é", 255)},
		"256 two-byte characters": {json: strconv.Quote(strings.Repeat("é", 256)), text: true, dropped: true},
		"200 ü (400 bytes)":       {json: strconv.Quote(strings.Repeat("ü", 200)), text: true, want: strings.Repeat("ü", 200)},
		"empty":                   {json: `""`, text: true, dropped: true},
		"integer":                 {json: `42`, want: "42"},
		"integer over 2^53":       {json: `9007199254740993`, want: "9007199254740993"},
		"uint64":                  {json: `12345678901234567890`, want: "12345678901234567890"},
		"negative":                {json: `-7`, want: "-7"},
		"fraction":                {json: `12.5`, dropped: true},
		"exponent beyond 2^53":    {json: `1e21`, dropped: true},
		"boolean":                 {json: `true`, dropped: true},
		"object":                  {json: `{"id":"k"}`, dropped: true},
	}
	for _, typ := range Types() {
		place, ok := keyPlaces[typ]
		if !ok {
			t.Errorf("%s: say where its key is in keyPlaces", typ)
			continue
		}
		if place == (struct{ field, header string }{}) {
			continue
		}
		spec := v1alpha1.SourceSpec{Type: typ}
		if typ == v1alpha1.SourceTypeHTTP {
			spec.HTTP = &v1alpha1.HTTPSource{
				Verification: v1alpha1.Verification{Type: v1alpha1.VerificationNone},
				EventType:    "'t'", IdempotencyKey: "body.key",
			}
		}
		c, err := Compile(Config{Source: &v1alpha1.Source{Spec: spec}, Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, CEL: env})
		if err != nil {
			t.Fatal(err)
		}
		for name, k := range keys {
			if place.header != "" && !k.text {
				continue
			}
			t.Run(string(typ)+"/"+name, func(t *testing.T) {
				// A body every provider types: type, event, Amplitude's event_type and the
				// Supabase fields; Shopify's type is a header.
				body := `{"type":"track","event":"e","event_type":"e","data":{}`
				h := http.Header{"X-Shopify-Topic": {"orders/create"}}
				if place.field != "" {
					body += `,"` + place.field + `":` + k.json
				} else {
					text, err := strconv.Unquote(k.json)
					if err != nil {
						t.Fatal(err)
					}
					h.Set(place.header, text)
				}
				body += "}"
				payloads, err := events.Decode("application/json", []byte(body), 1)
				if err != nil {
					t.Fatal(err)
				}
				info, err := c.Describer.Describe(context.Background(), Event{
					Payload: payloads[0].(map[string]any), Header: h, Headers: LowerHeaders(h), RawBody: []byte(body),
				})
				if err != nil {
					t.Fatal(err)
				}
				if info.IdempotencyKey != k.want || info.KeyDropped != k.dropped {
					t.Errorf("key, dropped = %.20q…, %v; want %.20q…, %v", info.IdempotencyKey, info.KeyDropped, k.want, k.dropped)
				}
			})
		}
	}
}
