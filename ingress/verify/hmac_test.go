package verify

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestGitHub(t *testing.T) {
	tests := map[string]struct {
		secrets []string
		header  string
		body    string
		want    error
	}{
		"vector #8":       {},
		"uppercase hex":   {header: "sha256=" + strings.ToUpper(githubSig[7:])},
		"rotated secrets": {secrets: []string{"old secret", githubSecret}},
		"tampered body":   {body: "Hello, World?", want: ErrSignatureMismatch},
		"wrong secret":    {secrets: []string{"It's a Secret to Nobody"}, want: ErrSignatureMismatch},
		"missing header":  {header: "-", want: ErrMissingSignature},
		"no prefix":       {header: githubSig[7:], want: ErrMalformedSignature},
		"sha1 prefix":     {header: "sha1=" + githubSig[7:], want: ErrMalformedSignature},
		"short":           {header: githubSig[:len(githubSig)-2], want: ErrMalformedSignature},
		"not hex":         {header: "sha256=" + strings.Repeat("zz", 32), want: ErrMalformedSignature},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			secrets := tc.secrets
			if secrets == nil {
				secrets = []string{githubSecret}
			}
			header, body := tc.header, tc.body
			if header == "" {
				header = githubSig
			}
			if body == "" {
				body = githubBody
			}
			r := &Request{Header: hdr(), Body: []byte(body)}
			if header != "-" {
				r.Header.Set("X-Hub-Signature-256", header)
			}
			checkErr(t, must(GitHub(secrets)).Verify(r, time.Time{}), tc.want)
		})
	}
}

func TestSegmentSignature(t *testing.T) {
	tests := map[string]struct {
		secrets []string
		header  string
		body    string
		want    error
	}{
		"vector #9":       {},
		"rotated secrets": {secrets: []string{"old", segmentSecret}},
		"tampered body":   {body: strings.Replace(segmentBody, "user-1", "user-2", 1), want: ErrSignatureMismatch},
		"wrong secret":    {secrets: []string{"abc124"}, want: ErrSignatureMismatch},
		"missing header":  {header: "-", want: ErrMissingSignature},
		"sha256 length":   {header: hexMAC(sha256.New, segmentSecret, segmentBody), want: ErrMalformedSignature},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			secrets := tc.secrets
			if secrets == nil {
				secrets = []string{segmentSecret}
			}
			header, body := tc.header, tc.body
			if header == "" {
				header = segmentSig
			}
			if body == "" {
				body = segmentBody
			}
			r := &Request{Header: hdr(), Body: []byte(body)}
			if header != "-" {
				r.Header.Set("X-Signature", header)
			}
			checkErr(t, must(SegmentSignature(secrets)).Verify(r, time.Time{}), tc.want)
		})
	}
}

func TestHMAC(t *testing.T) {
	const (
		secret = "generic-secret"
		body   = `{"type":"order.paid","id":"ord_1"}`
		ts     = "1700000000"
		tsMS   = "1700000000000"
		id     = "evt_123"
	)
	now := unix(1700000000)
	tests := map[string]struct {
		cfg    HMACConfig
		header http.Header
		body   string
		now    time.Time
		want   error
	}{
		"defaults: sha256 hex body": {
			cfg:    HMACConfig{Header: "X-Sig"},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, body)),
		},
		"sha1 hex body": {
			cfg:    HMACConfig{Header: "X-Sig", Algorithm: AlgorithmSHA1},
			header: hdr("X-Sig", hexMAC(sha1.New, secret, body)),
		},
		"sha512 base64 with prefix": {
			cfg:    HMACConfig{Header: "X-Sig", Algorithm: AlgorithmSHA512, Encoding: EncodingBase64, Prefix: "sha512="},
			header: hdr("X-Sig", "sha512="+b64MAC(sha512.New, secret, body)),
		},
		"timestamp.body seconds": {
			cfg:    HMACConfig{Header: "X-Sig", SignedContent: SignedContentTimestampBody, TimestampHeader: "X-Ts"},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, ts+"."+body), "X-Ts", ts),
		},
		"timestamp.body milliseconds": {
			cfg:    HMACConfig{Header: "X-Sig", SignedContent: SignedContentTimestampBody, TimestampHeader: "X-Ts", TimestampUnit: TimestampUnitMilliseconds},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, tsMS+"."+body), "X-Ts", tsMS),
		},
		"id.timestamp.body": {
			cfg:    HMACConfig{Header: "X-Sig", SignedContent: SignedContentIDTimestampBody, TimestampHeader: "X-Ts", IDHeader: "X-Id"},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, id+"."+ts+"."+body), "X-Ts", ts, "X-Id", id),
		},
		"lowercase header names in config": {
			cfg:    HMACConfig{Header: "x-sig", SignedContent: SignedContentTimestampBody, TimestampHeader: "x-ts"},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, ts+"."+body), "X-Ts", ts),
		},
		"stale": {
			cfg:    HMACConfig{Header: "X-Sig", SignedContent: SignedContentTimestampBody, TimestampHeader: "X-Ts", Tolerance: time.Minute},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, ts+"."+body), "X-Ts", ts),
			now:    now.Add(time.Minute),
			want:   ErrTimestampOutOfTolerance,
		},
		"future": {
			cfg:    HMACConfig{Header: "X-Sig", SignedContent: SignedContentTimestampBody, TimestampHeader: "X-Ts"},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, ts+"."+body), "X-Ts", ts),
			now:    now.Add(-5*time.Minute - time.Second),
			want:   ErrTimestampOutOfTolerance,
		},
		"milliseconds sent as seconds": {
			cfg:    HMACConfig{Header: "X-Sig", SignedContent: SignedContentTimestampBody, TimestampHeader: "X-Ts"},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, tsMS+"."+body), "X-Ts", tsMS),
			want:   ErrTimestampOutOfTolerance,
		},
		"timestamp changed": {
			cfg:    HMACConfig{Header: "X-Sig", SignedContent: SignedContentTimestampBody, TimestampHeader: "X-Ts"},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, ts+"."+body), "X-Ts", "1700000001"),
			want:   ErrSignatureMismatch,
		},
		"id changed": {
			cfg:    HMACConfig{Header: "X-Sig", SignedContent: SignedContentIDTimestampBody, TimestampHeader: "X-Ts", IDHeader: "X-Id"},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, id+"."+ts+"."+body), "X-Ts", ts, "X-Id", "evt_124"),
			want:   ErrSignatureMismatch,
		},
		"id with dot": {
			cfg:    HMACConfig{Header: "X-Sig", SignedContent: SignedContentIDTimestampBody, TimestampHeader: "X-Ts", IDHeader: "X-Id"},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, "a.b."+ts+"."+body), "X-Ts", ts, "X-Id", "a.b"),
			want:   ErrMalformedSignature,
		},
		"missing timestamp": {
			cfg:    HMACConfig{Header: "X-Sig", SignedContent: SignedContentTimestampBody, TimestampHeader: "X-Ts"},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, ts+"."+body)),
			want:   ErrMissingSignature,
		},
		"missing id": {
			cfg:    HMACConfig{Header: "X-Sig", SignedContent: SignedContentIDTimestampBody, TimestampHeader: "X-Ts", IDHeader: "X-Id"},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, id+"."+ts+"."+body), "X-Ts", ts),
			want:   ErrMissingSignature,
		},
		"bad timestamp": {
			cfg:    HMACConfig{Header: "X-Sig", SignedContent: SignedContentTimestampBody, TimestampHeader: "X-Ts"},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, ts+"."+body), "X-Ts", "soon"),
			want:   ErrMalformedSignature,
		},
		"tampered body": {
			cfg:    HMACConfig{Header: "X-Sig"},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, body)),
			body:   body + "\n",
			want:   ErrSignatureMismatch,
		},
		"wrong secret": {
			cfg:    HMACConfig{Header: "X-Sig"},
			header: hdr("X-Sig", hexMAC(sha256.New, "other", body)),
			want:   ErrSignatureMismatch,
		},
		"wrong algorithm": {
			cfg:    HMACConfig{Header: "X-Sig", Algorithm: AlgorithmSHA512},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, body)),
			want:   ErrMalformedSignature,
		},
		"wrong encoding": {
			cfg:    HMACConfig{Header: "X-Sig", Encoding: EncodingBase64},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, body)),
			want:   ErrMalformedSignature,
		},
		"missing prefix": {
			cfg:    HMACConfig{Header: "X-Sig", Prefix: "sha256="},
			header: hdr("X-Sig", hexMAC(sha256.New, secret, body)),
			want:   ErrMalformedSignature,
		},
		"missing header": {
			cfg:    HMACConfig{Header: "X-Sig"},
			header: hdr("X-Other", hexMAC(sha256.New, secret, body)),
			want:   ErrMissingSignature,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := must(HMAC(tc.cfg, []string{"rotated-out", secret}))
			b, n := tc.body, tc.now
			if b == "" {
				b = body
			}
			if n.IsZero() {
				n = now
			}
			checkErr(t, v.Verify(&Request{Header: tc.header, Body: []byte(b)}, n), tc.want)
		})
	}
}

func TestHMACConfigValidation(t *testing.T) {
	ok := []string{"s"}
	tests := map[string]struct {
		cfg     HMACConfig
		secrets []string
		want    error
	}{
		"no header":             {cfg: HMACConfig{}, want: ErrInvalidConfig},
		"bad header name":       {cfg: HMACConfig{Header: "X Sig"}, want: ErrInvalidConfig},
		"unknown algorithm":     {cfg: HMACConfig{Header: "X-Sig", Algorithm: "md5"}, want: ErrInvalidConfig},
		"uppercase algorithm":   {cfg: HMACConfig{Header: "X-Sig", Algorithm: "SHA256"}, want: ErrInvalidConfig},
		"unknown encoding":      {cfg: HMACConfig{Header: "X-Sig", Encoding: "base32"}, want: ErrInvalidConfig},
		"unknown content":       {cfg: HMACConfig{Header: "X-Sig", SignedContent: "{body}"}, want: ErrInvalidConfig},
		"unknown unit":          {cfg: HMACConfig{Header: "X-Sig", TimestampUnit: "ns"}, want: ErrInvalidConfig},
		"ts content, no header": {cfg: HMACConfig{Header: "X-Sig", SignedContent: SignedContentTimestampBody}, want: ErrInvalidConfig},
		"ts header, body only":  {cfg: HMACConfig{Header: "X-Sig", TimestampHeader: "X-Ts"}, want: ErrInvalidConfig},
		"id content, no id":     {cfg: HMACConfig{Header: "X-Sig", SignedContent: SignedContentIDTimestampBody, TimestampHeader: "X-Ts"}, want: ErrInvalidConfig},
		"id header unused":      {cfg: HMACConfig{Header: "X-Sig", SignedContent: SignedContentTimestampBody, TimestampHeader: "X-Ts", IDHeader: "X-Id"}, want: ErrInvalidConfig},
		"tolerance without ts":  {cfg: HMACConfig{Header: "X-Sig", Tolerance: time.Minute}, want: ErrInvalidConfig},
		"negative tolerance":    {cfg: HMACConfig{Header: "X-Sig", SignedContent: SignedContentTimestampBody, TimestampHeader: "X-Ts", Tolerance: -time.Second}, want: ErrInvalidConfig},
		"bad ts header name":    {cfg: HMACConfig{Header: "X-Sig", SignedContent: SignedContentTimestampBody, TimestampHeader: "X:Ts"}, want: ErrInvalidConfig},
		"prefix with space":     {cfg: HMACConfig{Header: "X-Sig", Prefix: " sha256="}, want: ErrInvalidConfig},
		"no secrets":            {cfg: HMACConfig{Header: "X-Sig"}, secrets: []string{}, want: ErrNoSecret},
		"empty secret":          {cfg: HMACConfig{Header: "X-Sig"}, secrets: []string{"a", ""}, want: ErrNoSecret},
		"all explicit":          {cfg: HMACConfig{Header: "X-Sig", Algorithm: AlgorithmSHA256, Encoding: EncodingHex, SignedContent: SignedContentBody, TimestampUnit: TimestampUnitSeconds}},
		"unit without ts ok":    {cfg: HMACConfig{Header: "X-Sig", TimestampUnit: TimestampUnitMilliseconds}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			secrets := tc.secrets
			if secrets == nil {
				secrets = ok
			}
			v, err := HMAC(tc.cfg, secrets)
			checkErr(t, err, tc.want)
			if (err == nil) != (v != nil) {
				t.Fatalf("HMAC() = %v, %v: want exactly one of verifier and error", v, err)
			}
		})
	}
}
