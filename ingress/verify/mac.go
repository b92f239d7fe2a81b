package verify

import (
	"crypto/hmac"
	"encoding/base64"
	"hash"
	"sync"
)

// maxMACSize is the largest digest this package computes (SHA-512).
const maxMACSize = 64

// macKey is one configured HMAC key. It keeps a pool of keyed hash states:
// creating an HMAC allocates and hashes the padded key, while Reset on a used
// one restores the keyed state from a cached copy.
type macKey struct {
	size int
	pool sync.Pool // of *macState
}

// macState is a keyed HMAC with buffers that live on the heap with it, so
// that writing strings and summing do not allocate.
type macState struct {
	h       hash.Hash
	sum     [maxMACSize]byte
	scratch [128]byte
}

// newMACKey precomputes an HMAC key. It returns an error, not wrapping any
// sentinel, instead of panicking when the
// runtime refuses the hash or key (crypto/hmac panics in FIPS 140-only mode
// for SHA-1 or keys shorter than 112 bits).
func newMACKey(newHash func() hash.Hash, key []byte) (k *macKey, err error) {
	key = append([]byte(nil), key...)
	newState := func() *macState {
		h := hmac.New(newHash, key)
		h.Reset() // the first Reset caches the keyed state for later ones
		return &macState{h: h}
	}
	defer func() {
		if p := recover(); p != nil {
			k, err = nil, keyError("the runtime refuses this HMAC key or hash (FIPS 140-only mode?)")
		}
	}()
	s := newState()
	k = &macKey{size: s.h.Size()}
	k.pool.New = func() any { return newState() }
	k.pool.Put(s)
	return k, nil
}

func (k *macKey) get() *macState { return k.pool.Get().(*macState) }

func (k *macKey) put(s *macState) { k.pool.Put(s) }

// sumOf returns the HMAC of the signed content "{id}.{ts}.{body}", where an
// empty id or ts is left out together with its dot. The result aliases s and
// is valid until s is put back.
func (s *macState) sumOf(id, ts string, body []byte) []byte {
	s.h.Reset()
	if id != "" {
		s.writeString(id)
		s.writeString(".")
	}
	if ts != "" {
		s.writeString(ts)
		s.writeString(".")
	}
	s.h.Write(body)
	return s.h.Sum(s.sum[:0])
}

// writeString writes str to the hash through the scratch buffer, avoiding
// the allocation a []byte(str) conversion would cost.
func (s *macState) writeString(str string) {
	for len(str) > 0 {
		n := copy(s.scratch[:], str)
		s.h.Write(s.scratch[:n])
		str = str[n:]
	}
}

// decodeHex decodes s, which must be exactly 2*len(dst) hex digits of either
// case, into dst. It never allocates. The input is the received signature,
// which the sender knows, so data-dependent branches leak nothing.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := fromHexChar(s[2*i])
		lo, ok2 := fromHexChar(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHexChar(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// strictBase64 is standard base64 that refuses an encoding whose unused bits are not
// zero, so that one signature has one spelling: "…wJU=" and "…wJX=" would otherwise
// decode to the same bytes.
var strictBase64 = base64.StdEncoding.Strict()

// decodeBase64 decodes s, which must be the padded standard base64 encoding
// of exactly len(dst) <= 64 bytes, into dst. It never allocates.
func decodeBase64(dst []byte, s string) bool {
	if len(dst) > maxMACSize || len(s) != base64.StdEncoding.EncodedLen(len(dst)) {
		return false
	}
	var src [88]byte // base64 of 64 bytes
	var out [66]byte // base64.StdEncoding.DecodedLen(88)
	n := copy(src[:], s)
	m, err := strictBase64.Decode(out[:], src[:n])
	if err != nil || m != len(dst) {
		return false
	}
	copy(dst, out[:m])
	return true
}

// decodeSig decodes a received signature in enc into dst.
func decodeSig(enc Encoding, dst []byte, s string) bool {
	if enc == EncodingBase64 {
		return decodeBase64(dst, s)
	}
	return decodeHex(dst, s)
}

// rawKeys builds one HMAC key per secret, using each secret's bytes verbatim.
func rawKeys(scheme string, newHash func() hash.Hash, secrets []string) ([]*macKey, error) {
	if len(secrets) == 0 {
		return nil, fail(scheme, ErrNoSecret, "no secrets configured")
	}
	keys := make([]*macKey, 0, len(secrets))
	for i, secret := range secrets {
		if secret == "" {
			return nil, failf(scheme, ErrNoSecret, "secrets[%d] is empty", i)
		}
		k, err := newMACKey(newHash, []byte(secret))
		if err != nil {
			return nil, failf(scheme, ErrInvalidConfig, "secrets[%d]: %s", i, err.Error())
		}
		keys = append(keys, k)
	}
	return keys, nil
}
