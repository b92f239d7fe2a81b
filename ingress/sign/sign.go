// Package sign computes signatures exactly as each provider does, so that people can
// try their mappings without the provider (`inlet send`) and tests and benchmarks can
// send authentic events. It is the mirror of package verify; which headers a sender
// sets is its provider's (package ingress/provider, Sign).
package sign

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // Segment and some senders sign with HMAC-SHA1.
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"

	"inlet.dev/inlet/api/v1alpha1"
)

// Stripe returns the Stripe-Signature header value for body signed at t.
func Stripe(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(sha256.New, []byte(secret), []byte(ts+"."), body))
}

// WorkOS returns the WorkOS-Signature header value for body signed at t (milliseconds).
func WorkOS(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.UnixMilli(), 10)
	return "t=" + ts + ", v1=" + hex.EncodeToString(mac(sha256.New, []byte(secret), []byte(ts+"."), body))
}

// Svix returns the signature ("v1,<base64>") of body with message id and timestamp, as
// Svix (Clerk) and Standard Webhooks sign. The secret is "whsec_" + base64, or base64.
func Svix(secret, id string, t time.Time, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("secret is not whsec_ followed by base64: %w", err)
	}
	content := id + "." + strconv.FormatInt(t.Unix(), 10) + "."
	return "v1," + base64.StdEncoding.EncodeToString(mac(sha256.New, key, []byte(content), body)), nil
}

// Ed25519 returns the Standard Webhooks v1a signature of body with a "whsk_" + base64
// 32-byte seed.
func Ed25519(secret, id string, t time.Time, body []byte) (string, error) {
	seed, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsk_"))
	if err != nil || len(seed) != ed25519.SeedSize {
		return "", errors.New("secret is not whsk_ followed by a base64 32-byte seed")
	}
	content := append([]byte(id+"."+strconv.FormatInt(t.Unix(), 10)+"."), body...)
	return "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(ed25519.NewKeyFromSeed(seed), content)), nil
}

// HMAC returns the signature of content with a generic HMAC scheme's algorithm and
// encoding, without prefix.
func HMAC(algorithm v1alpha1.HMACAlgorithm, encoding v1alpha1.SignatureEncoding, secret string, content ...[]byte) (string, error) {
	var h func() hash.Hash
	switch algorithm {
	case v1alpha1.HMACSHA1:
		h = sha1.New
	case v1alpha1.HMACSHA256, "":
		h = sha256.New
	case v1alpha1.HMACSHA512:
		h = sha512.New
	default:
		return "", fmt.Errorf("unknown algorithm %q", algorithm)
	}
	sum := mac(h, []byte(secret), content...)
	if encoding == v1alpha1.EncodingBase64 {
		return base64.StdEncoding.EncodeToString(sum), nil
	}
	return hex.EncodeToString(sum), nil
}

func mac(h func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(h, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// MessageID is the message id Headers sends for a body: derived from the body, so that
// sending the same payload again looks like a provider's retry of one delivery (which
// keeps its svix-id or webhook-id) and is de-duplicated.
func MessageID(body []byte) string {
	sum := sha256.Sum256(body)
	return "msg_" + base64.RawURLEncoding.EncodeToString(sum[:18])
}
