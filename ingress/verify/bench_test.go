package verify

import (
	"crypto/ed25519"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// benchBody is a ~1 KB JSON event.
var benchBody = []byte(`{"id":"evt_1NqX2kL3","object":"event","type":"customer.subscription.updated","data":{"object":{"id":"sub_1NqX2k","customer":"cus_Oa1b2c3d","status":"active","items":[` +
	strings.Repeat(`{"id":"si_0123456789","price":{"id":"price_0123456789","unit_amount":1999}},`, 10) +
	`{"id":"si_last"}],"metadata":{"plan":"pro","seats":"12"}}}}`)

func BenchmarkVerify(b *testing.B) {
	const (
		ts    = "1700000000"
		tsMS  = "1700000000000"
		id    = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
		token = "tok_3f9a8c2b7e6d4f1a9b8c7d6e5f4a3b2c"
	)
	body := string(benchBody)
	now := unix(1700000000)
	key := svixKeyBytes(b, svixSecret)
	seed, _ := base64.StdEncoding.DecodeString(swSeed)
	priv := ed25519.NewKeyFromSeed(seed)
	v1a := "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(id+"."+ts+"."+body)))

	benches := []struct {
		name   string
		v      Verifier
		header http.Header
		query  url.Values
	}{
		{"stripe", must(Stripe([]string{stripeSecret}, 0)),
			hdr("Stripe-Signature", "t="+ts+",v1="+hexMAC(sha256.New, stripeSecret, ts+"."+body)), nil},
		{"stripe-2secrets-rolled", must(Stripe([]string{stripeRolledSecret, stripeSecret}, 0)),
			hdr("Stripe-Signature", "t="+ts+",v1="+hexMAC(sha256.New, stripeSecret, ts+"."+body)), nil},
		{"svix", must(Svix([]string{svixSecret}, 0)),
			svixHeaders("svix-", id, ts, svixSign(b, svixSecret, id, ts, body)), nil},
		{"standardwebhooks-v1a", must(StandardWebhooks(nil, []string{swPublicKey}, 0)),
			svixHeaders("webhook-", id, ts, v1a), nil},
		{"workos", must(WorkOS([]string{workosSecret}, 0)),
			hdr("WorkOS-Signature", "t="+tsMS+", v1="+hexMAC(sha256.New, workosSecret, tsMS+"."+body)), nil},
		{"segment", must(SegmentSignature([]string{segmentSecret})),
			hdr("X-Signature", hexMAC(sha1.New, segmentSecret, body)), nil},
		{"github", must(GitHub([]string{githubSecret})),
			hdr("X-Hub-Signature-256", "sha256="+hexMAC(sha256.New, githubSecret, body)), nil},
		{"hmac-sha512-base64-id-ts", must(HMAC(HMACConfig{Header: "X-Sig", Algorithm: AlgorithmSHA512, Encoding: EncodingBase64,
			SignedContent: SignedContentIDTimestampBody, TimestampHeader: "X-Ts", IDHeader: "X-Id"}, []string{key})),
			hdr("X-Sig", b64MAC(sha512.New, key, id+"."+ts+"."+body), "X-Ts", ts, "X-Id", id), nil},
		{"bearer", must(Bearer([]string{token})), hdr("Authorization", "Bearer "+token), nil},
		{"basic", must(Basic([]Credential{{Username: "census", Password: token}})), hdr("Authorization", basicAuth("census", token)), nil},
		{"headertoken", must(HeaderToken("X-Webhook-Secret", []string{token})), hdr("X-Webhook-Secret", token), nil},
		{"querytoken", must(QueryToken("token", []string{token})), nil, url.Values{"token": {token}}},
		{"none", None(), nil, nil},
	}
	for _, bc := range benches {
		b.Run(bc.name, func(b *testing.B) {
			r := &Request{Header: bc.header, Query: bc.query, Body: benchBody}
			if err := bc.v.Verify(r, now); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(benchBody)))
			for b.Loop() {
				if err := bc.v.Verify(r, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyMismatch measures the failure path, which an attacker can
// drive.
func BenchmarkVerifyMismatch(b *testing.B) {
	v := must(Stripe([]string{stripeSecret}, 0))
	r := &Request{Header: hdr("Stripe-Signature", "t=1700000000,v1="+strings.Repeat("0", 64)), Body: benchBody}
	now := unix(1700000000)
	b.ReportAllocs()
	for b.Loop() {
		if v.Verify(r, now) == nil {
			b.Fatal("verified")
		}
	}
}
