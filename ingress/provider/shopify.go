package provider

import (
	"net/http"
	"strings"
	"time"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/events"
	"inlet.dev/inlet/ingress/sign"
	"inlet.dev/inlet/ingress/verify"
)

// shopify: a Shopify app's or store's webhooks (docs/sources/shopify.md).
//
//	verified  X-Shopify-Hmac-Sha256 (or Shopify-Hmac-Sha256): base64 HMAC-SHA256 of the
//	          body with the app's client secret; no timestamp
//	type      header X-Shopify-Topic (or Shopify-Topic), e.g. orders/create
//	key       header X-Shopify-Event-Id (or Shopify-Event-Id), else X-Shopify-Webhook-Id
//	          (or Webhook-Id)
//	user id   for customers/* topics, body.id; else body.customer.id, else
//	          body.customer_id
//	data      the whole payload (body)
func init() {
	register(&builtin{
		typ:              v1alpha1.SourceTypeShopify,
		signs:            true,
		signatureHeaders: []string{"X-Shopify-Hmac-Sha256", "Shopify-Hmac-Sha256"},
		verifier: func(secrets []string, _ time.Duration) (verify.Verifier, error) {
			return verify.Shopify(secrets)
		},
		sign: func(h http.Header, secret string, _ time.Time, body []byte) error {
			sig, err := sign.HMAC(v1alpha1.HMACSHA256, v1alpha1.EncodingBase64, secret, body)
			h.Set("X-Shopify-Hmac-Sha256", sig)
			return err
		},
		describe: describeShopify,
		reads:    []string{"id", "customer.id", "customer_id"},
		data:     []string{""},
	})
}

func describeShopify(payload map[string]any, header http.Header) (events.Info, error) {
	var info events.Info
	info.Type = firstHeader(header, "X-Shopify-Topic", "x-shopify-topic", "Shopify-Topic", "shopify-topic")
	if info.Type == "" {
		return events.Info{}, events.NoEventType("event type not found: no X-Shopify-Topic or Shopify-Topic header")
	}
	headerKey(&info, header,
		"X-Shopify-Event-Id", "x-shopify-event-id", "Shopify-Event-Id", "shopify-event-id",
		"X-Shopify-Webhook-Id", "x-shopify-webhook-id", "Webhook-Id", "webhook-id")
	if strings.HasPrefix(info.Type, "customers/") {
		info.UserID = id(payload["id"])
	} else {
		info.UserID = id(object(payload, "customer")["id"])
		if info.UserID == "" {
			info.UserID = id(payload["customer_id"])
		}
	}
	info.Data = payload
	return info, nil
}

// firstHeader returns the first non-empty value of the first of the headers present,
// each looked up by its canonical and its lower-case name (given in pairs).
func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if vs := h[n]; len(vs) > 0 && strings.TrimSpace(vs[0]) != "" {
			return strings.TrimSpace(vs[0])
		}
	}
	return ""
}
