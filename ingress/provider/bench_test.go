package provider

import (
	"context"
	"net/http"
	"testing"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/events"
)

var sinkInfo events.Info

// BenchmarkDescribe describes one payload through the Describer the data path holds,
// compiled once: the per-request cost of typing an event.
func BenchmarkDescribe(b *testing.B) {
	for _, bc := range []struct {
		name   string
		source v1alpha1.SourceType
		file   string
	}{
		{"stripe", v1alpha1.SourceTypeStripe, "stripe_subscription_updated.json"},
		{"clerk", v1alpha1.SourceTypeClerk, "clerk_user_created.json"},
		{"supabase", v1alpha1.SourceTypeSupabase, "supabase_insert.json"},
		{"segment_track", v1alpha1.SourceTypeSegment, "segment_track.json"},
		{"hightouch", v1alpha1.SourceTypeHightouch, "polytomic_record.json"},
	} {
		payload := payloadOf(b, string(fixture(b, bc.file)))
		h := http.Header{"Svix-Id": {"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"}, "Idempotency-Key": {"run-1"}}
		c, err := Compile(Config{Source: &v1alpha1.Source{Spec: v1alpha1.SourceSpec{Type: bc.source}}, Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				info, err := c.Describer.Describe(ctx, Event{Payload: payload, Header: h})
				if err != nil {
					b.Fatal(err)
				}
				sinkInfo = info
			}
		})
	}
}
