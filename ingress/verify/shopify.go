package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"time"
)

// Shopify returns a verifier for Shopify webhooks: X-Shopify-Hmac-Sha256 (or
// Shopify-Hmac-Sha256, the spelling of Shopify's newer deliveries) holds the base64
// HMAC-SHA256 of the raw body, keyed with the app's client secret (or the webhook
// signing secret shown in the Shopify admin) used verbatim. There is no timestamp, so
// a captured request can be replayed: rely on the event id for deduplication.
func Shopify(secrets []string) (Verifier, error) {
	keys, err := rawKeys("shopify", sha256.New, secrets)
	if err != nil {
		return nil, err
	}
	return &shopifyVerifier{keys: keys}, nil
}

type shopifyVerifier struct{ keys []*macKey }

func (v *shopifyVerifier) Verify(r *Request, _ time.Time) error {
	const scheme = "shopify"
	sig := r.header("X-Shopify-Hmac-Sha256")
	if sig == "" {
		sig = r.header("Shopify-Hmac-Sha256")
	}
	if sig == "" {
		return fail(scheme, ErrMissingSignature, "no X-Shopify-Hmac-Sha256 or Shopify-Hmac-Sha256 header")
	}
	var want [sha256.Size]byte
	if !decodeBase64(want[:], sig) {
		return fail(scheme, ErrMalformedSignature, "the HMAC header is not the base64 of 32 bytes")
	}
	body := r.body()
	for _, k := range v.keys {
		s := k.get()
		ok := hmac.Equal(s.sumOf("", "", body), want[:])
		k.put(s)
		if ok {
			return nil
		}
	}
	return fail(scheme, ErrSignatureMismatch, "the HMAC header matches no secret")
}
