package verify

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// svixHeaders builds the three headers with the given prefix ("svix-" or
// "webhook-"); an empty value leaves the header out.
func svixHeaders(prefix, id, ts, sig string) http.Header {
	h := http.Header{}
	for name, val := range map[string]string{"id": id, "timestamp": ts, "signature": sig} {
		if val != "" {
			h.Set(prefix+name, val)
		}
	}
	return h
}

func TestSvix(t *testing.T) {
	ts := int64(1614265330)
	tests := map[string]struct {
		secrets []string
		header  http.Header
		body    string
		now     time.Time
		tol     time.Duration
		want    error
	}{
		"vector #1 svix-*":      {},
		"vector #1 webhook-*":   {header: svixHeaders("webhook-", svixID, svixTS, svixSig)},
		"secret without prefix": {secrets: []string{strings.TrimPrefix(svixSecret, "whsec_")}},
		"vector #3 Clerk":       {header: svixHeaders("svix-", clerkID, clerkTS, clerkSig), body: clerkBody, now: unix(1674087231)},
		"rotated secrets":       {secrets: []string{"whsec_" + base64.StdEncoding.EncodeToString([]byte("an-older-secret-key-of-24b")), svixSecret}},
		"multi-signature":       {header: svixHeaders("svix-", svixID, svixTS, svixBadSig+" v2,"+svixBadSig[3:]+" "+svixSig+" "+svixBadSig)},
		"double spaces":         {header: svixHeaders("svix-", svixID, svixTS, svixBadSig+"  "+svixSig)},
		"v1a ignored by svix":   {header: svixHeaders("svix-", svixID, svixTS, swV1aSig+" "+svixSig)},
		"incomplete svix, full wh": {header: func() http.Header {
			h := svixHeaders("webhook-", svixID, svixTS, svixSig)
			h.Set("svix-id", "msg_other")
			return h
		}()},
		"4m59s old":               {now: unix(ts + 299)},
		"exactly 5m old":          {now: unix(ts + 300), want: ErrTimestampOutOfTolerance},
		"5m+1s in the future":     {now: unix(ts - 301), want: ErrTimestampOutOfTolerance},
		"4m59s in the future":     {now: unix(ts - 299)},
		"known bad signature":     {header: svixHeaders("svix-", svixID, svixTS, svixBadSig), want: ErrSignatureMismatch},
		"v1, alone":               {header: svixHeaders("svix-", svixID, svixTS, "v1,"), want: ErrMalformedSignature},
		"tampered body":           {body: `{"test": 2432232315}`, want: ErrSignatureMismatch},
		"wrong secret":            {secrets: []string{"whsec_" + base64.StdEncoding.EncodeToString([]byte("another-secret-of-24-byte"))}, want: ErrSignatureMismatch},
		"timestamp changed":       {header: svixHeaders("svix-", svixID, "946684800", svixSig), now: unix(946684800), want: ErrSignatureMismatch},
		"timestamp changed, lax":  {header: svixHeaders("svix-", svixID, "946684800", svixSig), tol: 100 * 365 * 24 * time.Hour, want: ErrSignatureMismatch},
		"id changed":              {header: svixHeaders("svix-", "msg_other", svixTS, svixSig), want: ErrSignatureMismatch},
		"id with dot":             {header: svixHeaders("svix-", "msg.1", svixTS, svixSig), want: ErrMalformedSignature},
		"timestamp not a number":  {header: svixHeaders("svix-", svixID, "1614265330.0", svixSig), want: ErrMalformedSignature},
		"timestamp with sign":     {header: svixHeaders("svix-", svixID, "+1614265330", svixSig), want: ErrMalformedSignature},
		"no headers":              {header: http.Header{}, want: ErrMissingSignature},
		"no id":                   {header: svixHeaders("svix-", "", svixTS, svixSig), want: ErrMissingSignature},
		"no timestamp":            {header: svixHeaders("svix-", svixID, "", svixSig), want: ErrMissingSignature},
		"no signature":            {header: svixHeaders("svix-", svixID, svixTS, ""), want: ErrMissingSignature},
		"no webhook-id":           {header: svixHeaders("webhook-", "", svixTS, svixSig), want: ErrMissingSignature},
		"unknown version only":    {header: svixHeaders("svix-", svixID, svixTS, "v2,"+svixSig[3:]), want: ErrMalformedSignature},
		"no comma":                {header: svixHeaders("svix-", svixID, svixTS, svixSig[3:]), want: ErrMalformedSignature},
		"stripe-style header":     {header: svixHeaders("svix-", svixID, svixTS, stripeHeader), want: ErrMalformedSignature},
		"unpadded base64 ignored": {header: svixHeaders("svix-", svixID, svixTS, strings.TrimSuffix(svixSig, "=")), want: ErrMalformedSignature},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			secrets := tc.secrets
			if secrets == nil {
				secrets = []string{svixSecret}
			}
			v := must(Svix(secrets, tc.tol))
			h, body, now := tc.header, tc.body, tc.now
			if h == nil {
				h = svixHeaders("svix-", svixID, svixTS, svixSig)
			}
			if body == "" {
				body = svixBody
			}
			if now.IsZero() {
				now = unix(ts)
			}
			checkErr(t, v.Verify(&Request{Header: h, Body: []byte(body)}, now), tc.want)
		})
	}
}

func TestSvixSignHelper(t *testing.T) {
	// The test helper must reproduce the published vectors, or the fuzz
	// targets that use it prove nothing.
	if got := svixSign(t, svixSecret, svixID, svixTS, svixBody); got != svixSig {
		t.Fatalf("svixSign = %s, want %s", got, svixSig)
	}
	if got := svixSign(t, svixSecret, clerkID, clerkTS, clerkBody); got != clerkSig {
		t.Fatalf("svixSign = %s, want %s", got, clerkSig)
	}
}

func TestStandardWebhooks(t *testing.T) {
	seed, _ := base64.StdEncoding.DecodeString(swSeed)
	priv := ed25519.NewKeyFromSeed(seed)
	otherPriv := ed25519.NewKeyFromSeed(make([]byte, 32))
	otherPub := "whpk_" + base64.StdEncoding.EncodeToString(otherPriv.Public().(ed25519.PublicKey))
	ts := int64(1614265330)
	wh := func(sig string) http.Header { return svixHeaders("webhook-", svixID, svixTS, sig) }

	tests := map[string]struct {
		secrets []string
		keys    []string
		header  http.Header
		body    string
		now     time.Time
		want    error
	}{
		"v1 vector #1":                  {secrets: []string{svixSecret}, header: wh(svixSig)},
		"v1a vector #2 whpk_":           {keys: []string{swPublicKey}, header: wh(swV1aSig)},
		"v1a vector #2 whsk_ seed":      {keys: []string{"whsk_" + swSeed}, header: wh(swV1aSig)},
		"v1a whsk_ private key":         {keys: []string{"whsk_" + base64.StdEncoding.EncodeToString(priv)}, header: wh(swV1aSig)},
		"v1a unprefixed public key":     {keys: []string{strings.TrimPrefix(swPublicKey, "whpk_")}, header: wh(swV1aSig)},
		"v1a rotated keys":              {keys: []string{otherPub, swPublicKey}, header: wh(swV1aSig)},
		"v1 and v1a, keys only":         {keys: []string{swPublicKey}, header: wh(svixSig + " " + swV1aSig)},
		"v1 and v1a, secret only":       {secrets: []string{svixSecret}, header: wh(swV1aSig + " " + svixSig)},
		"v1 and v1a, both":              {secrets: []string{svixSecret}, keys: []string{swPublicKey}, header: wh(svixBadSig + " " + swV1aSig)},
		"spec-style list":               {keys: []string{swPublicKey}, header: wh(svixBadSig + " " + swV1aSig)},
		"v1a wrong key":                 {keys: []string{otherPub}, header: wh(swV1aSig), want: ErrSignatureMismatch},
		"v1a tampered body":             {keys: []string{swPublicKey}, header: wh(swV1aSig), body: `{"test": 1}`, want: ErrSignatureMismatch},
		"v1a timestamp changed":         {keys: []string{swPublicKey}, header: svixHeaders("webhook-", svixID, "1614265331", swV1aSig), want: ErrSignatureMismatch},
		"v1a only, secret configured":   {secrets: []string{svixSecret}, header: wh(swV1aSig), want: ErrMalformedSignature},
		"v1 only, key configured":       {keys: []string{swPublicKey}, header: wh(svixSig), want: ErrMalformedSignature},
		"svix-* headers not read":       {secrets: []string{svixSecret}, header: svixHeaders("svix-", svixID, svixTS, svixSig), want: ErrMissingSignature},
		"v1a stale":                     {keys: []string{swPublicKey}, header: wh(swV1aSig), now: unix(ts + 300), want: ErrTimestampOutOfTolerance},
		"v1a future":                    {keys: []string{swPublicKey}, header: wh(swV1aSig), now: unix(ts - 301), want: ErrTimestampOutOfTolerance},
		"v1a known bad":                 {keys: []string{swPublicKey}, header: wh("v1a," + base64.StdEncoding.EncodeToString(make([]byte, 64))), want: ErrSignatureMismatch},
		"v1a empty":                     {keys: []string{swPublicKey}, header: wh("v1a,"), want: ErrMalformedSignature},
		"v1a signed by other key":       {keys: []string{swPublicKey}, header: wh("v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(otherPriv, []byte(svixID+"."+svixTS+"."+svixBody)))), want: ErrSignatureMismatch},
		"v1 and v1a both bad":           {secrets: []string{svixSecret}, keys: []string{swPublicKey}, header: wh(svixBadSig + " v1a," + base64.StdEncoding.EncodeToString(make([]byte, 64))), want: ErrSignatureMismatch},
		"v1a after 7 bad ones":          {keys: []string{swPublicKey}, header: wh(strings.Repeat("v1a,"+base64.StdEncoding.EncodeToString(make([]byte, 64))+" ", 7) + swV1aSig)},
		"v1a after 8 bad ones (capped)": {keys: []string{swPublicKey}, header: wh(strings.Repeat("v1a,"+base64.StdEncoding.EncodeToString(make([]byte, 64))+" ", 8) + swV1aSig), want: ErrSignatureMismatch},
		"v1 after 100 bad v1a":          {secrets: []string{svixSecret}, keys: []string{swPublicKey}, header: wh(strings.Repeat("v1a,"+base64.StdEncoding.EncodeToString(make([]byte, 64))+" ", 100) + svixSig)},
		"v1 known bad, secret and key":  {secrets: []string{svixSecret}, keys: []string{swPublicKey}, header: wh(svixBadSig), want: ErrSignatureMismatch},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := must(StandardWebhooks(tc.secrets, tc.keys, 0))
			body, now := tc.body, tc.now
			if body == "" {
				body = svixBody
			}
			if now.IsZero() {
				now = unix(ts)
			}
			checkErr(t, v.Verify(&Request{Header: tc.header, Body: []byte(body)}, now), tc.want)
		})
	}
}

func TestParsePublicKeyDerivation(t *testing.T) {
	// providers.md: the seed of vector #2 derives whpk_ZlN4eg7d....
	got, err := parsePublicKey("whsk_" + swSeed)
	if err != nil {
		t.Fatal(err)
	}
	if s := "whpk_" + base64.StdEncoding.EncodeToString(got); s != swPublicKey {
		t.Fatalf("derived %s, want %s", s, swPublicKey)
	}
}

// TestSvixViaGenericHMAC cross-checks the Svix vector with the generic HMAC
// verifier configured like Standard Webhooks v1.
func TestSvixViaGenericHMAC(t *testing.T) {
	v := must(HMAC(HMACConfig{
		Header:          "webhook-signature",
		Prefix:          "v1,",
		Encoding:        EncodingBase64,
		SignedContent:   SignedContentIDTimestampBody,
		IDHeader:        "webhook-id",
		TimestampHeader: "webhook-timestamp",
	}, []string{svixKeyBytes(t, svixSecret)}))
	r := &Request{Header: svixHeaders("webhook-", svixID, svixTS, svixSig), Body: []byte(svixBody)}
	checkErr(t, v.Verify(r, unix(1614265330)), nil)
	r.Header.Set("webhook-timestamp", strconv.Itoa(1614265331))
	checkErr(t, v.Verify(r, unix(1614265330)), ErrSignatureMismatch)
}
