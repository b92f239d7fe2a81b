package provider

import (
	"net/http"
	"time"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/events"
	"inlet.dev/inlet/ingress/sign"
	"inlet.dev/inlet/ingress/verify"
)

// stripe: billing events from a Stripe webhook endpoint (docs/sources/stripe.md).
//
//	verified  Stripe-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of "{t}.{body}">, the
//	          whole whsec_ secret as key; 5m tolerance
//	type      body.type
//	key       body.id
//	user id   body.data.object.customer when a string; for a customer object
//	          (body.data.object.object == "customer"), body.data.object.id
//	data      body.data.object
func init() {
	register(&builtin{
		typ:              v1alpha1.SourceTypeStripe,
		signs:            true,
		tolerance:        verify.DefaultStripeTolerance,
		signatureHeaders: []string{"Stripe-Signature"},
		verifier:         verify.Stripe,
		sign: func(h http.Header, secret string, t time.Time, body []byte) error {
			h.Set("Stripe-Signature", sign.Stripe(secret, t, body))
			return nil
		},
		describe: describeStripe,
		reads:    []string{fieldType, "id", "data.object.customer", "data.object.object", "data.object.id"},
		data:     []string{"data.object"},
	})
}

func describeStripe(payload map[string]any, _ http.Header) (events.Info, error) {
	var info events.Info
	typ, err := eventType(payload, fieldType)
	if err != nil {
		return events.Info{}, err
	}
	info.Type = typ
	bodyKey(&info, payload, "id")
	if obj := object(object(payload, "data"), "object"); obj != nil {
		info.Data = obj
		if c, ok := obj["customer"].(string); ok {
			info.UserID = c
		} else if obj["object"] == "customer" {
			info.UserID, _ = obj["id"].(string)
		}
	}
	return info, nil
}
