// Package sign signs requests exactly as each provider does, so that people can try
// their mappings without the provider (`inlet send`) and tests and benchmarks can send
// authentic events. It is the mirror of package verify.
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
	"net/http"
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

// Headers returns the headers a sender of the given Source would set to sign body with
// secret at t: the provider's own scheme for stripe, clerk, workos and segment, the
// configured scheme for http sources, and the header token for sources with
// headerAuth. Sources that sign nothing get no headers: their endpoint token is in the
// URL.
func Headers(src *v1alpha1.SourceSpec, secret string, t time.Time, body []byte) (http.Header, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	switch src.Type {
	case v1alpha1.SourceTypeStripe:
		h.Set("Stripe-Signature", Stripe(secret, t, body))
	case v1alpha1.SourceTypeWorkOS:
		h.Set("WorkOS-Signature", WorkOS(secret, t, body))
	case v1alpha1.SourceTypeClerk:
		id := MessageID(body)
		sig, err := Svix(secret, id, t, body)
		if err != nil {
			return nil, err
		}
		h.Set("svix-id", id)
		h.Set("svix-timestamp", strconv.FormatInt(t.Unix(), 10))
		h.Set("svix-signature", sig)
	case v1alpha1.SourceTypeHTTP:
		if src.HTTP == nil {
			return nil, errors.New("an http source needs spec.http")
		}
		return h, httpHeaders(h, &src.HTTP.Verification, secret, t, body)
	default:
		if src.HeaderAuth != nil {
			headerToken(h, src.HeaderAuth.Scheme, src.HeaderAuth.Header, secret)
		} else if src.Type == v1alpha1.SourceTypeSegment && secret != "" {
			sig, _ := HMAC(v1alpha1.HMACSHA1, v1alpha1.EncodingHex, secret, body)
			h.Set("X-Signature", sig)
		}
	}
	return h, nil
}

func headerToken(h http.Header, scheme v1alpha1.HeaderAuthScheme, header, secret string) {
	switch scheme {
	case v1alpha1.HeaderAuthBearer:
		h.Set("Authorization", "Bearer "+secret)
	case v1alpha1.HeaderAuthBasic:
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(secret)))
	case v1alpha1.HeaderAuthHeader:
		if header == "" {
			header = "X-Webhook-Secret"
		}
		h.Set(header, secret)
	}
}

func httpHeaders(h http.Header, v *v1alpha1.Verification, secret string, t time.Time, body []byte) error {
	switch v.Type {
	case v1alpha1.VerificationHMAC:
		c := v.HMAC
		id := MessageID(body)
		ts := strconv.FormatInt(t.Unix(), 10)
		if c.TimestampUnit == v1alpha1.TimestampMilliseconds {
			ts = strconv.FormatInt(t.UnixMilli(), 10)
		}
		var content [][]byte
		switch c.SignedContent {
		case v1alpha1.SignedTimestampBody:
			content = [][]byte{[]byte(ts + "."), body}
		case v1alpha1.SignedIDTimestampBody:
			content = [][]byte{[]byte(id + "." + ts + "."), body}
		default:
			content = [][]byte{body}
		}
		sig, err := HMAC(c.Algorithm, c.Encoding, secret, content...)
		if err != nil {
			return err
		}
		h.Set(c.Header, c.Prefix+sig)
		if c.TimestampHeader != "" {
			h.Set(c.TimestampHeader, ts)
		}
		if c.IDHeader != "" {
			h.Set(c.IDHeader, id)
		}
	case v1alpha1.VerificationStandardWebhooks:
		id := MessageID(body)
		sig, err := Svix(secret, id, t, body)
		if err != nil {
			return err
		}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", strconv.FormatInt(t.Unix(), 10))
		h.Set("webhook-signature", sig)
	case v1alpha1.VerificationGitHub:
		sig, _ := HMAC(v1alpha1.HMACSHA256, v1alpha1.EncodingHex, secret, body)
		h.Set("X-Hub-Signature-256", "sha256="+sig)
	case v1alpha1.VerificationBasic:
		headerToken(h, v1alpha1.HeaderAuthBasic, "", secret)
	case v1alpha1.VerificationBearer:
		headerToken(h, v1alpha1.HeaderAuthBearer, "", secret)
	case v1alpha1.VerificationHeaderToken:
		headerToken(h, v1alpha1.HeaderAuthHeader, v.HeaderToken.Header, secret)
	case v1alpha1.VerificationCEL:
		return errors.New("a cel verification is not known to inlet send: sign the request yourself and pass the headers with -H")
	}
	return nil
}
