package verify

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The fuzz targets check two properties on arbitrary input: Verify never
// panics, and it never accepts a request unless the request carries the
// genuine signature under the configured secret (checked against an
// independent oracle). Each also checks that a request signed with a different
// secret is rejected and the genuinely signed one accepted.

// differentKey reports whether other is a non-empty HMAC key that differs from
// key. HMAC pads keys with zero bytes, so "k" and "k\x00" are the same key.
func differentKey(other, key string) bool {
	return other != "" && strings.TrimRight(other, "\x00") != strings.TrimRight(key, "\x00")
}

// tv1Oracle reports whether a "t=..,v1=.." header carries the genuine v1 for
// its (first) timestamp, computed independently.
func tv1Oracle(secret, header string, body []byte) bool {
	var ts string
	for item := range strings.SplitSeq(header, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(item), "t="); ok {
			ts = v
			break
		}
	}
	want := "v1=" + hexMAC(sha256.New, secret, ts+"."+string(body))
	return strings.Contains(strings.ToLower(header), want)
}

func FuzzStripeHeader(f *testing.F) {
	f.Add(stripeHeader, []byte(stripeBody), stripeRolledSecret)
	f.Add(stripeHeader+",v1="+stripeRolledSig, []byte(stripeBody), "whsec_other")
	f.Add(stripeHeader+",v1=bad_signature", []byte(stripeBody), "x")
	f.Add("v1,t=1", []byte(stripeBody), "x")
	f.Add("t=", []byte(""), "x")
	f.Add("t=1700000000,v0="+stripeSig, []byte(stripeBody), "x")
	f.Add("t=1700000000,t=1700000000,v1=", []byte("{}"), "")
	v := must(Stripe([]string{stripeSecret}, 0))
	now := unix(stripeTS)
	f.Fuzz(func(t *testing.T, header string, body []byte, other string) {
		err := v.Verify(&Request{Header: http.Header{"Stripe-Signature": {header}}, Body: body}, now)
		if err == nil && !tv1Oracle(stripeSecret, header, body) {
			t.Fatalf("accepted a header without the genuine signature: %q", header)
		}
		_ = Reason(err)
		genuine := "t=1700000000,v1=" + hexMAC(sha256.New, stripeSecret, "1700000000."+string(body))
		if err := v.Verify(&Request{Header: http.Header{"Stripe-Signature": {genuine}}, Body: body}, now); err != nil {
			t.Fatalf("rejected a genuine signature: %v", err)
		}
		if differentKey(other, stripeSecret) {
			forged := "t=1700000000,v1=" + hexMAC(sha256.New, other, "1700000000."+string(body))
			if v.Verify(&Request{Header: http.Header{"Stripe-Signature": {forged}}, Body: body}, now) == nil {
				t.Fatalf("accepted a signature made with another secret")
			}
		}
	})
}

func FuzzWorkOSHeader(f *testing.F) {
	f.Add(workosHeader, []byte(workosBody), "secret")
	f.Add(strings.ReplaceAll(workosHeader, ", ", ","), []byte(workosBody), "x")
	f.Add("v1=67612f0e74f008b436a13b00266f90ef5c13f9cbcf6262206f5f4a539ff61702", []byte(workosBody), "x")
	f.Add("t=1632409405772, v1=", []byte("{}"), "")
	v := must(WorkOS([]string{workosSecret}, 0))
	now := time.UnixMilli(workosTS)
	f.Fuzz(func(t *testing.T, header string, body []byte, other string) {
		err := v.Verify(&Request{Header: http.Header{"Workos-Signature": {header}}, Body: body}, now)
		if err == nil && !tv1Oracle(workosSecret, header, body) {
			t.Fatalf("accepted a header without the genuine signature: %q", header)
		}
		genuine := "t=1632409405772, v1=" + hexMAC(sha256.New, workosSecret, "1632409405772."+string(body))
		if err := v.Verify(&Request{Header: http.Header{"Workos-Signature": {genuine}}, Body: body}, now); err != nil {
			t.Fatalf("rejected a genuine signature: %v", err)
		}
		if differentKey(other, workosSecret) {
			forged := "t=1632409405772, v1=" + hexMAC(sha256.New, other, "1632409405772."+string(body))
			if v.Verify(&Request{Header: http.Header{"Workos-Signature": {forged}}, Body: body}, now) == nil {
				t.Fatalf("accepted a signature made with another secret")
			}
		}
	})
}

func FuzzSvixHeader(f *testing.F) {
	f.Add(svixID, svixTS, svixSig, []byte(svixBody), "other-key")
	f.Add(clerkID, clerkTS, clerkSig, []byte(clerkBody), "x")
	f.Add(svixID, svixTS, svixBadSig+" v2,abc "+svixSig, []byte(svixBody), "x")
	f.Add(svixID, svixTS, "v1,", []byte(svixBody), "x")
	f.Add(svixID, svixTS, swV1aSig, []byte(svixBody), "x")
	f.Add("msg.1", "1614265330", "v1,,, v1a,", []byte{}, "")
	svix := must(Svix([]string{svixSecret}, 0))
	sw := must(StandardWebhooks([]string{svixSecret}, []string{swPublicKey}, 0))
	key := svixKeyBytes(f, svixSecret)
	now := unix(1614265330)
	f.Fuzz(func(t *testing.T, id, ts, sigs string, body []byte, other string) {
		for name, v := range map[string]Verifier{"svix": svix, "standardwebhooks": sw} {
			h := http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {sigs}}
			if err := v.Verify(&Request{Header: h, Body: body}, now); err == nil {
				tid, tts := strings.TrimSpace(id), strings.TrimSpace(ts)
				want := "v1," + b64MAC(sha256.New, key, tid+"."+tts+"."+string(body))
				// A v1a signature cannot be forged by a fuzzer; only the
				// published vector's can verify.
				publishedV1a := name == "standardwebhooks" && strings.Contains(sigs, swV1aSig) &&
					string(body) == svixBody && tid == svixID && tts == svixTS
				if !strings.Contains(sigs, want) && !publishedV1a {
					t.Fatalf("%s accepted headers without the genuine signature: id=%q ts=%q sigs=%q", name, id, ts, sigs)
				}
			}
			genuine := http.Header{"Webhook-Id": {svixID}, "Webhook-Timestamp": {svixTS}, "Webhook-Signature": {"v1," + b64MAC(sha256.New, key, svixID+"."+svixTS+"."+string(body))}}
			if err := v.Verify(&Request{Header: genuine, Body: body}, now); err != nil {
				t.Fatalf("%s rejected a genuine signature: %v", name, err)
			}
			if differentKey(other, key) {
				forged := http.Header{"Webhook-Id": {svixID}, "Webhook-Timestamp": {svixTS}, "Webhook-Signature": {"v1," + b64MAC(sha256.New, other, svixID+"."+svixTS+"."+string(body))}}
				if v.Verify(&Request{Header: forged, Body: body}, now) == nil {
					t.Fatalf("%s accepted a signature made with another secret", name)
				}
			}
		}
	})
}

func FuzzHMAC(f *testing.F) {
	f.Add(uint8(1), uint8(0), uint8(0), "sha256=", "sha256="+githubSig[7:], "", "", []byte(githubBody), "x")
	f.Add(uint8(0), uint8(0), uint8(0), "", segmentSig, "", "", []byte(segmentBody), "x")
	f.Add(uint8(1), uint8(1), uint8(2), "v1,", svixSig, svixID, svixTS, []byte(svixBody), "x")
	f.Add(uint8(2), uint8(1), uint8(1), "", "====", "", "1700000000", []byte("{}"), "")
	const secret = "fuzz-secret"
	algs := []struct {
		a Algorithm
		h func() hash.Hash
	}{{AlgorithmSHA1, sha1.New}, {AlgorithmSHA256, sha256.New}, {AlgorithmSHA512, sha512.New}}
	encs := []Encoding{EncodingHex, EncodingBase64}
	contents := []SignedContent{SignedContentBody, SignedContentTimestampBody, SignedContentIDTimestampBody}
	now := unix(1700000000)
	f.Fuzz(func(t *testing.T, alg, enc, content uint8, prefix, sig, id, ts string, body []byte, other string) {
		a, e, c := algs[int(alg)%len(algs)], encs[int(enc)%len(encs)], contents[int(content)%len(contents)]
		cfg := HMACConfig{Header: "X-Sig", Algorithm: a.a, Encoding: e, Prefix: prefix, SignedContent: c}
		if c != SignedContentBody {
			cfg.TimestampHeader = "X-Ts"
		}
		if c == SignedContentIDTimestampBody {
			cfg.IDHeader = "X-Id"
		}
		v, err := HMAC(cfg, []string{secret})
		if err != nil {
			return // e.g. a prefix starting with whitespace
		}
		encode := func(mac []byte) string {
			if e == EncodingBase64 {
				return base64.StdEncoding.EncodeToString(mac)
			}
			return hex.EncodeToString(mac)
		}
		signed := func(id, ts string) string {
			switch c {
			case SignedContentTimestampBody:
				return ts + "." + string(body)
			case SignedContentIDTimestampBody:
				return id + "." + ts + "." + string(body)
			}
			return string(body)
		}
		h := http.Header{"X-Sig": {sig}, "X-Id": {id}, "X-Ts": {ts}}
		if v.Verify(&Request{Header: h, Body: body}, now) == nil {
			got, ok := strings.CutPrefix(strings.TrimSpace(sig), prefix)
			var dec []byte
			if e == EncodingBase64 {
				dec, err = base64.StdEncoding.DecodeString(got)
			} else {
				dec, err = hex.DecodeString(got)
			}
			if !ok || err != nil || !hmac.Equal(dec, macOf(a.h, secret, signed(strings.TrimSpace(id), strings.TrimSpace(ts)))) {
				t.Fatalf("accepted a header without the genuine signature: %q", sig)
			}
		}
		hdrs := func(key string) http.Header {
			return http.Header{"X-Sig": {prefix + encode(macOf(a.h, key, signed("evt_1", "1700000000")))}, "X-Id": {"evt_1"}, "X-Ts": {"1700000000"}}
		}
		if err := v.Verify(&Request{Header: hdrs(secret), Body: body}, now); err != nil {
			t.Fatalf("rejected a genuine signature: %v", err)
		}
		if differentKey(other, secret) && v.Verify(&Request{Header: hdrs(other), Body: body}, now) == nil {
			t.Fatalf("accepted a signature made with another secret")
		}
	})
}

func FuzzTokens(f *testing.F) {
	f.Add("Bearer tok_fuzz_token", "tok_fuzz_token")
	f.Add("Basic dXNlcjp0b2tfZnV6el90b2tlbg==", "tok_fuzz_token")
	f.Add("bearer  tok_fuzz_token ", "x")
	f.Add("Basic", "")
	const tok = "tok_fuzz_token"
	bearer := must(Bearer([]string{tok}))
	basic := must(Basic([]Credential{{Username: "user", Password: tok}}))
	header := must(HeaderToken("X-Token", []string{tok}))
	f.Fuzz(func(t *testing.T, auth, other string) {
		r := &Request{Header: http.Header{"Authorization": {auth}, "X-Token": {auth}}}
		if bearer.Verify(r, time.Time{}) == nil {
			s, rest, _ := strings.Cut(strings.TrimSpace(auth), " ")
			if !strings.EqualFold(s, "bearer") || strings.TrimSpace(rest) != tok {
				t.Fatalf("bearer accepted %q", auth)
			}
		}
		if basic.Verify(r, time.Time{}) == nil {
			s, rest, _ := strings.Cut(strings.TrimSpace(auth), " ")
			dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
			if !strings.EqualFold(s, "basic") || err != nil || string(dec) != "user:"+tok {
				t.Fatalf("basic accepted %q", auth)
			}
		}
		if header.Verify(r, time.Time{}) == nil && strings.TrimSpace(auth) != tok {
			t.Fatalf("header token accepted %q", auth)
		}
		if other != tok && strings.TrimSpace(other) != "" {
			if bearer.Verify(&Request{Header: http.Header{"Authorization": {"Bearer " + other}}}, time.Time{}) == nil && strings.TrimSpace(other) != tok {
				t.Fatalf("bearer accepted another token")
			}
		}
	})
}
