package verify

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"
)

// Svix returns a verifier for webhooks sent through Svix, which is what Clerk
// uses.
//
// The request carries svix-id, svix-timestamp (unix seconds) and
// svix-signature, a space-separated list of "v1,<base64>" signatures. When any
// of the three svix-* headers is missing, the webhook-* headers of
// [StandardWebhooks] are used instead, as Svix's libraries do for
// white-labelled senders. Each signature is the standard base64 HMAC-SHA256 of
// "{id}.{timestamp}.{body}". Secrets have the form "whsec_<base64 key>"; the
// prefix is optional and the key is base64 decoded once, here. Entries with
// another version are ignored. A message id containing '.' is rejected, as the
// Standard Webhooks specification asks.
//
// tolerance bounds how far the timestamp may be from now, in both directions;
// zero means [DefaultSvixTolerance].
func Svix(secrets []string, tolerance time.Duration) (Verifier, error) {
	const scheme = "svix"
	tol, err := checkTolerance(scheme, tolerance, DefaultSvixTolerance)
	if err != nil {
		return nil, err
	}
	if len(secrets) == 0 {
		return nil, fail(scheme, ErrNoSecret, "no secrets configured")
	}
	keys, err := svixKeys(scheme, secrets)
	if err != nil {
		return nil, err
	}
	return &swVerifier{scheme: scheme, svixHeaders: true, keys: keys, tolerance: tol}, nil
}

// StandardWebhooks returns a verifier for the Standard Webhooks specification
// (standardwebhooks.com).
//
// The request carries webhook-id, webhook-timestamp (unix seconds) and
// webhook-signature, a space-separated list of "v1,<base64>" HMAC-SHA256 and
// "v1a,<base64>" Ed25519 signatures, both over "{id}.{timestamp}.{body}".
// secrets are symmetric keys in the form "whsec_<base64 key>" (prefix
// optional) and are checked against v1 signatures. publicKeys pin the
// Ed25519 keys trusted for v1a signatures: "whpk_<base64 public key>", or
// "whsk_<base64 32-byte seed or 64-byte private key>" from which the public
// key is derived; a value without a prefix is read as a public key. Keys are
// never taken from the request. At least one secret or public key is required.
// Only the first 8 well-formed v1a signatures of a request are checked, which
// bounds the CPU time one request can cost.
// A message id containing '.' is rejected, as the specification asks.
//
// tolerance bounds how far the timestamp may be from now, in both directions;
// zero means [DefaultSvixTolerance].
func StandardWebhooks(secrets []string, publicKeys []string, tolerance time.Duration) (Verifier, error) {
	const scheme = "standardwebhooks"
	tol, err := checkTolerance(scheme, tolerance, DefaultSvixTolerance)
	if err != nil {
		return nil, err
	}
	if len(secrets) == 0 && len(publicKeys) == 0 {
		return nil, fail(scheme, ErrNoSecret, "no secrets or public keys configured")
	}
	keys, err := svixKeys(scheme, secrets)
	if err != nil {
		return nil, err
	}
	pubs := make([]ed25519.PublicKey, 0, len(publicKeys))
	for i, s := range publicKeys {
		pub, err := parsePublicKey(s)
		if err != nil {
			return nil, failf(scheme, ErrInvalidConfig, "publicKeys[%d]: %s", i, err.Error())
		}
		pubs = append(pubs, pub)
	}
	return &swVerifier{scheme: scheme, keys: keys, pubs: pubs, tolerance: tol}, nil
}

// svixKeys decodes "whsec_<base64>" secrets.
func svixKeys(scheme string, secrets []string) ([]*macKey, error) {
	keys := make([]*macKey, 0, len(secrets))
	for i, s := range secrets {
		raw := strings.TrimPrefix(s, "whsec_")
		if raw == "" {
			return nil, failf(scheme, ErrNoSecret, "secrets[%d] is empty", i)
		}
		key, err := base64.StdEncoding.DecodeString(raw)
		if err != nil || len(key) == 0 {
			return nil, failf(scheme, ErrInvalidConfig, "secrets[%d] is not \"whsec_\" followed by standard base64", i)
		}
		k, err := newMACKey(sha256.New, key)
		if err != nil {
			return nil, failf(scheme, ErrInvalidConfig, "secrets[%d]: %s", i, err.Error())
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// parsePublicKey reads a "whpk_" public key, or derives one from a "whsk_"
// seed or private key.
func parsePublicKey(s string) (ed25519.PublicKey, error) {
	secret := strings.HasPrefix(s, "whsk_")
	raw := strings.TrimPrefix(strings.TrimPrefix(s, "whsk_"), "whpk_")
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || raw == "" {
		return nil, keyError("not standard base64 after the whpk_/whsk_ prefix")
	}
	switch {
	case !secret && len(b) == ed25519.PublicKeySize:
		return ed25519.PublicKey(b), nil
	case secret && len(b) == ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b).Public().(ed25519.PublicKey), nil
	case secret && len(b) == ed25519.PrivateKeySize:
		priv := ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
		if !bytes.Equal(priv[ed25519.SeedSize:], b[ed25519.SeedSize:]) {
			return nil, keyError("whsk_ private key is inconsistent (public half does not match the seed)")
		}
		return priv.Public().(ed25519.PublicKey), nil
	case secret:
		return nil, keyError("whsk_ key must decode to a 32-byte seed or a 64-byte private key")
	default:
		return nil, keyError("public key must decode to 32 bytes")
	}
}

// swVerifier implements Svix and Standard Webhooks.
type swVerifier struct {
	scheme      string
	svixHeaders bool // read svix-* first, then webhook-*
	keys        []*macKey
	pubs        []ed25519.PublicKey
	tolerance   time.Duration
}

// headers returns the id, timestamp and signature list, and the header
// prefix they came from, or an error naming the first missing header.
func (v *swVerifier) headers(r *Request) (id, ts, sigs, prefix string, err error) {
	wid, wts, wsigs := r.header("Webhook-Id"), r.header("Webhook-Timestamp"), r.header("Webhook-Signature")
	if v.svixHeaders {
		id, ts, sigs = r.header("Svix-Id"), r.header("Svix-Timestamp"), r.header("Svix-Signature")
		if id != "" && ts != "" && sigs != "" {
			return id, ts, sigs, "svix-", nil
		}
		if wid == "" || wts == "" || wsigs == "" {
			// Neither set is complete: report against the set the sender used.
			if sigs == "" && wsigs == "" {
				return "", "", "", "", fail(v.scheme, ErrMissingSignature, "no svix-signature or webhook-signature header")
			}
			if sigs != "" {
				return "", "", "", "", missingHeader(v.scheme, "svix-", id, ts)
			}
		}
	}
	if wsigs == "" {
		return "", "", "", "", fail(v.scheme, ErrMissingSignature, "no webhook-signature header")
	}
	if wid == "" || wts == "" {
		return "", "", "", "", missingHeader(v.scheme, "webhook-", wid, wts)
	}
	return wid, wts, wsigs, "webhook-", nil
}

func missingHeader(scheme, prefix, id, ts string) error {
	if id == "" {
		return fail(scheme, ErrMissingSignature, "no "+prefix+"id header")
	}
	if ts == "" {
		return fail(scheme, ErrMissingSignature, "no "+prefix+"timestamp header")
	}
	return fail(scheme, ErrMissingSignature, "no "+prefix+"signature header")
}

func (v *swVerifier) Verify(r *Request, now time.Time) error {
	id, ts, sigs, prefix, err := v.headers(r)
	if err != nil {
		return err
	}
	if strings.IndexByte(id, '.') >= 0 {
		return fail(v.scheme, ErrMalformedSignature, prefix+"id contains '.'")
	}
	n, ok := parseDigits(ts)
	if !ok {
		return fail(v.scheme, ErrMalformedSignature, prefix+"timestamp is not a unix timestamp in seconds")
	}
	if !v.anyUsable(sigs) {
		return fail(v.scheme, ErrMalformedSignature, prefix+"signature has no well-formed signature of a configured kind")
	}
	if err := checkTimestamp(v.scheme, time.Unix(n, 0), now, v.tolerance); err != nil {
		return err
	}
	body := r.body()
	for _, k := range v.keys {
		s := k.get()
		ok := matchVersioned(sigs, "v1", s.sumOf(id, ts, body))
		k.put(s)
		if ok {
			return nil
		}
	}
	if len(v.pubs) > 0 && v.matchEd25519(sigs, id, ts, body) {
		return nil
	}
	return fail(v.scheme, ErrSignatureMismatch, "no signature matches")
}

// nextSig returns the next "version,signature" entry of a space-separated list.
func nextSig(list string) (version, sig, rest string) {
	entry, rest, _ := strings.Cut(list, " ")
	version, sig, _ = strings.Cut(entry, ",")
	return version, sig, rest
}

// anyUsable reports whether sigs holds at least one well-formed signature that
// a configured secret or key could check.
func (v *swVerifier) anyUsable(sigs string) bool {
	var buf [ed25519.SignatureSize]byte
	for rest := sigs; rest != ""; {
		var version, sig string
		version, sig, rest = nextSig(rest)
		switch {
		case version == "v1" && len(v.keys) > 0 && decodeBase64(buf[:sha256.Size], sig):
			return true
		case version == "v1a" && len(v.pubs) > 0 && decodeBase64(buf[:], sig):
			return true
		}
	}
	return false
}

// matchVersioned reports whether any entry of the given version equals mac.
func matchVersioned(sigs, version string, mac []byte) bool {
	var buf [maxMACSize]byte
	for rest := sigs; rest != ""; {
		var ver, sig string
		ver, sig, rest = nextSig(rest)
		if ver == version && decodeBase64(buf[:len(mac)], sig) && hmac.Equal(buf[:len(mac)], mac) {
			return true
		}
	}
	return false
}

// maxEd25519Signatures bounds the v1a signatures checked per request. An
// Ed25519 verification costs tens of microseconds, so without a bound one
// large header could cost a second of CPU. Senders put one or two (during a
// key rotation) in a request.
const maxEd25519Signatures = 8

// matchEd25519 reports whether any of the first maxEd25519Signatures
// well-formed v1a entries is a valid signature by a pinned key.
func (v *swVerifier) matchEd25519(sigs, id, ts string, body []byte) bool {
	var msg []byte
	var buf [ed25519.SignatureSize]byte
	tried := 0
	for rest := sigs; rest != "" && tried < maxEd25519Signatures; {
		var ver, sig string
		ver, sig, rest = nextSig(rest)
		if ver != "v1a" || !decodeBase64(buf[:], sig) {
			continue
		}
		tried++
		if msg == nil {
			msg = make([]byte, 0, len(id)+len(ts)+2+len(body))
			msg = append(append(append(append(append(msg, id...), '.'), ts...), '.'), body...)
		}
		for _, pub := range v.pubs {
			if ed25519.Verify(pub, msg, buf[:]) {
				return true
			}
		}
	}
	return false
}
