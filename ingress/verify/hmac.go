package verify

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strings"
	"time"
	"unicode"
)

// Algorithm is the hash function of an [HMAC] verifier.
type Algorithm string

// Algorithms accepted by [HMAC].
const (
	// AlgorithmSHA1 is HMAC-SHA1, as Segment's X-Signature uses. Prefer SHA-256
	// where the sender offers a choice.
	AlgorithmSHA1 Algorithm = "sha1"
	// AlgorithmSHA256 is HMAC-SHA256, the default.
	AlgorithmSHA256 Algorithm = "sha256"
	// AlgorithmSHA512 is HMAC-SHA512.
	AlgorithmSHA512 Algorithm = "sha512"
)

// Encoding is how an [HMAC] signature is written in its header.
type Encoding string

// Encodings accepted by [HMAC].
const (
	// EncodingHex is hexadecimal digits, either case. The default.
	EncodingHex Encoding = "hex"
	// EncodingBase64 is standard base64 with padding (RFC 4648 section 4).
	EncodingBase64 Encoding = "base64"
)

// SignedContent is what an [HMAC] sender signs. The parts are joined with '.'.
type SignedContent string

// Signed contents accepted by [HMAC].
const (
	// SignedContentBody signs the raw body alone. The default.
	SignedContentBody SignedContent = "body"
	// SignedContentTimestampBody signs "{timestamp}.{body}", with the
	// timestamp exactly as sent in the timestamp header.
	SignedContentTimestampBody SignedContent = "timestamp.body"
	// SignedContentIDTimestampBody signs "{id}.{timestamp}.{body}", with the
	// id and timestamp exactly as sent in their headers.
	SignedContentIDTimestampBody SignedContent = "id.timestamp.body"
)

// TimestampUnit is the unit of an [HMAC] timestamp header.
type TimestampUnit string

// Timestamp units accepted by [HMAC].
const (
	// TimestampUnitSeconds is unix time in seconds. The default.
	TimestampUnitSeconds TimestampUnit = "seconds"
	// TimestampUnitMilliseconds is unix time in milliseconds.
	TimestampUnitMilliseconds TimestampUnit = "milliseconds"
)

// HMACConfig describes an HMAC signature scheme for [HMAC]. Empty fields take
// the defaults noted on each.
type HMACConfig struct {
	// Header is the request header carrying the signature, e.g. "X-Signature".
	// Required.
	Header string
	// Algorithm is the hash function; default [AlgorithmSHA256].
	Algorithm Algorithm
	// Encoding is how the signature is written; default [EncodingHex].
	Encoding Encoding
	// Prefix is text that precedes the encoded signature in the header and is
	// not part of it, e.g. "sha256=". Optional; it must match exactly and must
	// not start with whitespace (header values are trimmed).
	Prefix string
	// TimestampHeader is the header carrying the signing time as a decimal
	// unix timestamp. Required when SignedContent includes the timestamp, and
	// only allowed then: a timestamp that is not signed protects nothing.
	TimestampHeader string
	// TimestampUnit is the unit of TimestampHeader; default [TimestampUnitSeconds].
	TimestampUnit TimestampUnit
	// Tolerance bounds how far the timestamp may be from now, in both
	// directions; default [DefaultSvixTolerance]. Only allowed with a
	// TimestampHeader.
	Tolerance time.Duration
	// SignedContent is what the sender signs; default [SignedContentBody].
	SignedContent SignedContent
	// IDHeader is the header carrying a message id. Required with
	// [SignedContentIDTimestampBody] and only allowed with it. An id containing
	// '.' is rejected, since it would make the signed content ambiguous.
	IDHeader string
}

// HMAC returns a verifier for an HMAC scheme described by cfg, for senders
// without a dedicated constructor. The request is accepted when the
// signature in cfg.Header is the HMAC of the signed content under any of
// secrets, which are used verbatim as keys. It returns an error wrapping
// [ErrInvalidConfig] when cfg is inconsistent, and [ErrNoSecret] when secrets
// is empty or holds an empty string.
func HMAC(cfg HMACConfig, secrets []string) (Verifier, error) {
	return newHMAC("hmac", cfg, secrets)
}

// GitHub returns a verifier for GitHub-style webhooks: the
// X-Hub-Signature-256 header reads "sha256=<hex>", the HMAC-SHA256 of the raw
// body keyed with the webhook secret. There is no timestamp, so a captured
// request can be replayed; rely on X-GitHub-Delivery for deduplication.
func GitHub(secrets []string) (Verifier, error) {
	return newHMAC("github", HMACConfig{
		Header:    "X-Hub-Signature-256",
		Algorithm: AlgorithmSHA256,
		Encoding:  EncodingHex,
		Prefix:    "sha256=",
	}, secrets)
}

// SegmentSignature returns a verifier for Segment's optional webhook signing:
// the X-Signature header holds the hex HMAC-SHA1 of the raw body keyed with the
// destination's shared secret. There is no timestamp, so a captured request
// can be replayed; rely on messageId for deduplication. Segment signs only the
// first event of a batch, so turn batching off.
func SegmentSignature(secrets []string) (Verifier, error) {
	return newHMAC("segment", HMACConfig{
		Header:    "X-Signature",
		Algorithm: AlgorithmSHA1,
		Encoding:  EncodingHex,
	}, secrets)
}

type hmacVerifier struct {
	scheme    string
	header    string
	prefix    string
	encoding  Encoding
	size      int
	tsHeader  string
	millis    bool
	tolerance time.Duration
	idHeader  string
	keys      []*macKey
}

func newHMAC(scheme string, cfg HMACConfig, secrets []string) (Verifier, error) {
	v := &hmacVerifier{scheme: scheme, prefix: cfg.Prefix}
	var err error
	if v.header, err = canonicalHeader(scheme, "header", cfg.Header); err != nil {
		return nil, err
	}
	if strings.TrimLeftFunc(cfg.Prefix, unicode.IsSpace) != cfg.Prefix {
		return nil, fail(scheme, ErrInvalidConfig, "prefix must not start with whitespace")
	}

	var newHash func() hash.Hash
	switch cfg.Algorithm {
	case AlgorithmSHA1:
		newHash = sha1.New
	case AlgorithmSHA256, "":
		newHash = sha256.New
	case AlgorithmSHA512:
		newHash = sha512.New
	default:
		return nil, failf(scheme, ErrInvalidConfig, "algorithm %q is not one of sha1, sha256, sha512", cfg.Algorithm)
	}

	switch cfg.Encoding {
	case EncodingHex, "":
		v.encoding = EncodingHex
	case EncodingBase64:
		v.encoding = EncodingBase64
	default:
		return nil, failf(scheme, ErrInvalidConfig, "encoding %q is not one of hex, base64", cfg.Encoding)
	}

	switch cfg.TimestampUnit {
	case TimestampUnitSeconds, "":
	case TimestampUnitMilliseconds:
		v.millis = true
	default:
		return nil, failf(scheme, ErrInvalidConfig, "timestampUnit %q is not one of seconds, milliseconds", cfg.TimestampUnit)
	}

	var wantTS, wantID bool
	switch cfg.SignedContent {
	case SignedContentBody, "":
	case SignedContentTimestampBody:
		wantTS = true
	case SignedContentIDTimestampBody:
		wantTS, wantID = true, true
	default:
		return nil, failf(scheme, ErrInvalidConfig, "signedContent %q is not one of body, timestamp.body, id.timestamp.body", cfg.SignedContent)
	}
	switch {
	case wantTS && cfg.TimestampHeader == "":
		return nil, failf(scheme, ErrInvalidConfig, "signedContent %q needs timestampHeader", cfg.SignedContent)
	case !wantTS && cfg.TimestampHeader != "":
		return nil, fail(scheme, ErrInvalidConfig,
			"timestampHeader is set but signedContent does not include the timestamp, so it would not stop replays; "+
				"use timestamp.body or id.timestamp.body")
	case wantID && cfg.IDHeader == "":
		return nil, failf(scheme, ErrInvalidConfig, "signedContent %q needs idHeader", cfg.SignedContent)
	case !wantID && cfg.IDHeader != "":
		return nil, fail(scheme, ErrInvalidConfig, "idHeader is only used with signedContent id.timestamp.body")
	case !wantTS && cfg.Tolerance != 0:
		return nil, fail(scheme, ErrInvalidConfig, "tolerance is set but there is no timestampHeader")
	}
	if wantTS {
		if v.tsHeader, err = canonicalHeader(scheme, "timestampHeader", cfg.TimestampHeader); err != nil {
			return nil, err
		}
		if v.tolerance, err = checkTolerance(scheme, cfg.Tolerance, DefaultSvixTolerance); err != nil {
			return nil, err
		}
	}
	if wantID {
		if v.idHeader, err = canonicalHeader(scheme, "idHeader", cfg.IDHeader); err != nil {
			return nil, err
		}
	}

	if v.keys, err = rawKeys(scheme, newHash, secrets); err != nil {
		return nil, err
	}
	v.size = v.keys[0].size
	return v, nil
}

func (v *hmacVerifier) Verify(r *Request, now time.Time) error {
	hv := r.header(v.header)
	if hv == "" {
		return fail(v.scheme, ErrMissingSignature, "no "+v.header+" header")
	}
	enc, ok := strings.CutPrefix(hv, v.prefix)
	if !ok {
		return fail(v.scheme, ErrMalformedSignature, v.header+" does not start with the expected prefix")
	}
	var sig [maxMACSize]byte
	if !decodeSig(v.encoding, sig[:v.size], enc) {
		return fail(v.scheme, ErrMalformedSignature, v.header+" is not a "+string(v.encoding)+" digest of the expected length")
	}

	var id, ts string
	if v.idHeader != "" {
		if id = r.header(v.idHeader); id == "" {
			return fail(v.scheme, ErrMissingSignature, "no "+v.idHeader+" header")
		}
		if strings.IndexByte(id, '.') >= 0 {
			return fail(v.scheme, ErrMalformedSignature, v.idHeader+" contains '.'")
		}
	}
	if v.tsHeader != "" {
		if ts = r.header(v.tsHeader); ts == "" {
			return fail(v.scheme, ErrMissingSignature, "no "+v.tsHeader+" header")
		}
		n, ok := parseDigits(ts)
		if !ok {
			return fail(v.scheme, ErrMalformedSignature, v.tsHeader+" is not a unix timestamp")
		}
		t := time.Unix(n, 0)
		if v.millis {
			t = time.UnixMilli(n)
		}
		if err := checkTimestamp(v.scheme, t, now, v.tolerance); err != nil {
			return err
		}
	}

	body := r.body()
	for _, k := range v.keys {
		s := k.get()
		ok := hmac.Equal(sig[:v.size], s.sumOf(id, ts, body))
		k.put(s)
		if ok {
			return nil
		}
	}
	return fail(v.scheme, ErrSignatureMismatch, v.header+" does not match")
}
