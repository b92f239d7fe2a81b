package verify

import (
	"crypto/sha256"
	"strings"
	"testing"
	"time"
)

func TestStripe(t *testing.T) {
	v0 := hexMAC(sha256.New, stripeSecret, "1700000000."+stripeBody)
	tests := map[string]struct {
		secrets   []string
		tolerance time.Duration
		header    string // "" means no Stripe-Signature header
		body      string
		now       time.Time
		want      error
	}{
		"vector #6":                  {header: stripeHeader},
		"vector #7 rolled secret":    {secrets: []string{stripeRolledSecret}, header: "t=1700000000,v1=" + stripeRolledSig},
		"both sigs, current secret":  {header: stripeHeader + ",v1=" + stripeRolledSig},
		"both sigs, rolled secret":   {secrets: []string{stripeRolledSecret}, header: stripeHeader + ",v1=" + stripeRolledSig},
		"rotated: old sig, 2 keys":   {secrets: []string{stripeRolledSecret, stripeSecret}, header: stripeHeader},
		"rotated: new sig, 2 keys":   {secrets: []string{stripeSecret, stripeRolledSecret}, header: "t=1700000000,v1=" + stripeRolledSig},
		"valid plus v1=bad":          {header: stripeHeader + ",v1=bad_signature"},
		"bad v1 first":               {header: "t=1700000000,v1=bad_signature,v1=" + stripeSig},
		"v0 and unknown ignored":     {header: "t=1700000000,v0=" + v0 + ",v9=x,v1=" + stripeSig + ",foo=bar=baz"},
		"uppercase hex":              {header: "t=1700000000,v1=" + strings.ToUpper(stripeSig)},
		"spaces around items":        {header: " t=1700000000 , v1=" + stripeSig + " "},
		"299s old":                   {header: stripeHeader, now: unix(stripeTS + 299)},
		"299s in the future":         {header: stripeHeader, now: unix(stripeTS - 299)},
		"exactly 300s old":           {header: stripeHeader, now: unix(stripeTS + 300), want: ErrTimestampOutOfTolerance},
		"301s in the future":         {header: stripeHeader, now: unix(stripeTS - 301), want: ErrTimestampOutOfTolerance},
		"custom tolerance":           {header: stripeHeader, tolerance: 10 * time.Second, now: unix(stripeTS + 10), want: ErrTimestampOutOfTolerance},
		"custom tolerance ok":        {header: stripeHeader, tolerance: time.Hour, now: unix(stripeTS + 3000)},
		"tampered body":              {header: stripeHeader, body: stripeBody + " ", want: ErrSignatureMismatch},
		"wrong secret":               {secrets: []string{"whsec_other"}, header: stripeHeader, want: ErrSignatureMismatch},
		"timestamp changed":          {header: "t=1700000001,v1=" + stripeSig, now: unix(stripeTS + 1), want: ErrSignatureMismatch},
		"missing header":             {want: ErrMissingSignature},
		"v1,t=1":                     {header: "v1,t=1", want: ErrMalformedSignature},
		"t=":                         {header: "t=", want: ErrMalformedSignature},
		"v0 only":                    {header: "t=1700000000,v0=" + v0, want: ErrMalformedSignature},
		"no timestamp":               {header: "v1=" + stripeSig, want: ErrMalformedSignature},
		"two timestamps":             {header: "t=1700000000,t=1700000000,v1=" + stripeSig, want: ErrMalformedSignature},
		"signed timestamp":           {header: "t=+1700000000,v1=" + stripeSig, want: ErrMalformedSignature},
		"leading zero":               {header: "t=01700000000,v1=" + stripeSig, want: ErrMalformedSignature},
		"only bad v1":                {header: "t=1700000000,v1=bad_signature", want: ErrMalformedSignature},
		"short v1":                   {header: "t=1700000000,v1=" + stripeSig[:62], want: ErrMalformedSignature},
		"trailing comma":             {header: stripeHeader + ",", want: ErrMalformedSignature},
		"svix-style header":          {header: svixSig, want: ErrMalformedSignature},
		"huge timestamp":             {header: "t=999999999999999999,v1=" + stripeSig, want: ErrTimestampOutOfTolerance},
		"zero timestamp":             {header: "t=0,v1=" + stripeSig, want: ErrTimestampOutOfTolerance},
		"prefix without whsec_ fail": {secrets: []string{"test_secret"}, header: stripeHeader, want: ErrSignatureMismatch},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			secrets := tc.secrets
			if secrets == nil {
				secrets = []string{stripeSecret}
			}
			v := must(Stripe(secrets, tc.tolerance))
			body := tc.body
			if body == "" {
				body = stripeBody
			}
			now := tc.now
			if now.IsZero() {
				now = unix(stripeTS)
			}
			r := &Request{Header: hdr(), Body: []byte(body)}
			if tc.header != "" {
				r.Header.Set("Stripe-Signature", tc.header)
			}
			checkErr(t, v.Verify(r, now), tc.want)
		})
	}
}

func TestWorkOS(t *testing.T) {
	tests := map[string]struct {
		secrets []string
		header  string
		body    string
		now     time.Time
		want    error
	}{
		"vector #4":             {},
		"vector #5":             {secrets: []string{workos5Secret}, header: "t=1700000000000, v1=" + workos5Sig, body: workos5Body, now: time.UnixMilli(workos5TS)},
		"no space after comma":  {header: strings.ReplaceAll(workosHeader, ", ", ",")},
		"rotated secrets":       {secrets: []string{"old", workosSecret}},
		"179s old":              {now: time.UnixMilli(workosTS + 179_000)},
		"exactly 180s old":      {now: time.UnixMilli(workosTS + 180_000), want: ErrTimestampOutOfTolerance},
		"181s in the future":    {now: time.UnixMilli(workosTS - 181_000), want: ErrTimestampOutOfTolerance},
		"seconds not ms":        {header: "t=1632409405, v1=67612f0e74f008b436a13b00266f90ef5c13f9cbcf6262206f5f4a539ff61702", now: time.Unix(1632409405, 0), want: ErrTimestampOutOfTolerance},
		"tampered body":         {body: strings.Replace(workosBody, "active", "inactive", 1), want: ErrSignatureMismatch},
		"wrong secret":          {secrets: []string{"secret"}, want: ErrSignatureMismatch},
		"timestamp changed":     {header: strings.Replace(workosHeader, "5772", "5773", 1), want: ErrSignatureMismatch},
		"v1 only (no t=)":       {header: "v1=67612f0e74f008b436a13b00266f90ef5c13f9cbcf6262206f5f4a539ff61702", want: ErrMalformedSignature},
		"t only":                {header: "t=1632409405772", want: ErrMalformedSignature},
		"missing header":        {header: "-", want: ErrMissingSignature},
		"garbage":               {header: "garbage", want: ErrMalformedSignature},
		"v1 not hex":            {header: "t=1632409405772, v1=zz", want: ErrMalformedSignature},
		"extra v1 still passes": {header: workosHeader + ", v1=00"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			secrets := tc.secrets
			if secrets == nil {
				secrets = []string{workosSecret}
			}
			v := must(WorkOS(secrets, 0))
			header, body, now := tc.header, tc.body, tc.now
			if header == "" {
				header = workosHeader
			}
			if body == "" {
				body = workosBody
			}
			if now.IsZero() {
				now = time.UnixMilli(workosTS)
			}
			r := &Request{Header: hdr(), Body: []byte(body)}
			if header != "-" {
				r.Header.Set("WorkOS-Signature", header)
			}
			checkErr(t, v.Verify(r, now), tc.want)
		})
	}
}

// TestWorkOSPythonTolerance mirrors workos-python: the vector passes with a
// huge tolerance and is out of tolerance "now".
func TestWorkOSPythonTolerance(t *testing.T) {
	r := &Request{Header: hdr("WorkOS-Signature", workosHeader), Body: []byte(workosBody)}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	checkErr(t, must(WorkOS([]string{workosSecret}, 100*365*24*time.Hour)).Verify(r, now), nil)
	checkErr(t, must(WorkOS([]string{workosSecret}, 0)).Verify(r, now), ErrTimestampOutOfTolerance)
}
