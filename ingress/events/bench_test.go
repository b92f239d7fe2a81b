package events

import (
	stdjson "encoding/json"
	"testing"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
)

// BenchmarkDecode compares Decode with the two decoders it could be built on, each
// unmarshalling the whole body into any: encoding/json (plus the UTF-8 check it lacks)
// and github.com/go-json-experiment/json (JSON v2), which Decode uses.
func BenchmarkDecode(b *testing.B) {
	for _, bc := range []struct{ name, file string }{
		{"stripe", "stripe_subscription_updated.json"},
		{"segment_batch", "segment_batch.json"},
	} {
		body := fixture(b, bc.file)
		b.Run(bc.name+"/Decode", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := Decode("application/json", body, DefaultLimit); err != nil {
					b.Fatal(err)
				}
			}
		})
		// What the ingress decodes of the event for the benchmark's mapping (ingress
		// BenchmarkDataPath: data.object's cancel_at_period_end, customer, plan.id and
		// quantity) and Stripe's typing (type, id, data.object.customer and object).
		paths := &Paths{}
		for _, p := range [][]string{{"type"}, {"id"}, {"data", "object", "customer"}, {"data", "object", "object"},
			{"data", "object", "cancel_at_period_end"}, {"data", "object", "plan", "id"}, {"data", "object", "quantity"}} {
			paths.Add(p...)
		}
		b.Run(bc.name+"/DecodePaths", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := DecodePaths("application/json", body, DefaultLimit, paths); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/encoding_json", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var v any
				if !utf8.Valid(body) {
					b.Fatal("invalid UTF-8")
				}
				if err := stdjson.Unmarshal(body, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/json_v2", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var v any
				if err := jsonv2.Unmarshal(body, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var sinkEvent map[string]any

func BenchmarkNormalize(b *testing.B) {
	payload := payloadOf(b, string(fixture(b, "stripe_subscription_updated.json")))
	info := Info{Type: "customer.subscription.updated", IdempotencyKey: "evt_1", UserID: "cus_1", Data: payload["data"]}
	b.ReportAllocs()
	for b.Loop() {
		sinkEvent = Normalize(info, payload)
	}
}

func BenchmarkIdentifyTraits(b *testing.B) {
	payload := payloadOf(b, string(fixture(b, "segment_identify.json")))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := IdentifyTraits(payload); !ok {
			b.Fatal("not ok")
		}
	}
}
