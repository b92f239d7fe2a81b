package verify

import (
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestReason(t *testing.T) {
	tests := map[string]struct {
		err  error
		want string
	}{
		"nil":            {err: nil, want: "ok"},
		"missing":        {err: fail("x", ErrMissingSignature, "d"), want: "missing_signature"},
		"malformed":      {err: fail("x", ErrMalformedSignature, "d"), want: "malformed_signature"},
		"stale":          {err: checkTimestamp("x", unix(0), unix(1000), time.Second), want: "stale_timestamp"},
		"future":         {err: checkTimestamp("x", unix(1000), unix(0), time.Second), want: "future_timestamp"},
		"mismatch":       {err: fail("x", ErrSignatureMismatch, "d"), want: "mismatch"},
		"no secret":      {err: fail("x", ErrNoSecret, "d"), want: "no_secret"},
		"invalid config": {err: fail("x", ErrInvalidConfig, "d"), want: "invalid_config"},
		"bare sentinel":  {err: ErrSignatureMismatch, want: "mismatch"},
		"bare tolerance": {err: ErrTimestampOutOfTolerance, want: "stale_timestamp"},
		"wrapped again":  {err: fmt.Errorf("ingress: %w", fail("x", ErrMissingSignature, "")), want: "missing_signature"},
		"foreign error":  {err: errors.New("boom"), want: "error"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Reason(tc.err); got != tc.want {
				t.Fatalf("Reason(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
	// A future timestamp is still ErrTimestampOutOfTolerance.
	if err := checkTimestamp("x", unix(1000), unix(0), time.Second); !errors.Is(err, ErrTimestampOutOfTolerance) {
		t.Fatalf("future timestamp error %v does not wrap ErrTimestampOutOfTolerance", err)
	}
}

func TestCheckTimestampBoundaries(t *testing.T) {
	const tol = 5 * time.Minute
	ts := unix(1_000_000)
	tests := map[string]struct {
		now  time.Time
		want error
	}{
		"same second":          {now: ts},
		"just under old":       {now: ts.Add(tol - time.Nanosecond)},
		"exactly old":          {now: ts.Add(tol), want: ErrTimestampOutOfTolerance},
		"just under future":    {now: ts.Add(-tol + time.Nanosecond)},
		"exactly future":       {now: ts.Add(-tol), want: ErrTimestampOutOfTolerance},
		"far past (saturates)": {now: time.Unix(1<<62, 0), want: ErrTimestampOutOfTolerance},
		"far future":           {now: time.Unix(-1<<62, 0), want: ErrTimestampOutOfTolerance},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			checkErr(t, checkTimestamp("x", ts, tc.now, tol), tc.want)
		})
	}
}

func TestParseDigits(t *testing.T) {
	tests := map[string]struct {
		in   string
		want int64
		ok   bool
	}{
		"zero":          {in: "0", want: 0, ok: true},
		"seconds":       {in: "1700000000", want: 1700000000, ok: true},
		"18 digits":     {in: "999999999999999999", want: 999999999999999999, ok: true},
		"19 digits":     {in: "1000000000000000000"},
		"empty":         {in: ""},
		"leading zero":  {in: "01"},
		"plus":          {in: "+1"},
		"minus":         {in: "-1"},
		"space":         {in: " 1"},
		"decimal":       {in: "1.5"},
		"unicode digit": {in: "١"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := parseDigits(tc.in)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("parseDigits(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestFailClosed checks that every constructor refuses to build a verifier
// without a usable secret, and rejects invalid settings.
func TestFailClosed(t *testing.T) {
	tests := map[string]struct {
		build func() (Verifier, error)
		want  error
	}{
		"stripe nil":                {build: func() (Verifier, error) { return Stripe(nil, 0) }, want: ErrNoSecret},
		"stripe empty secret":       {build: func() (Verifier, error) { return Stripe([]string{""}, 0) }, want: ErrNoSecret},
		"stripe negative tolerance": {build: func() (Verifier, error) { return Stripe([]string{stripeSecret}, -time.Second) }, want: ErrInvalidConfig},
		"svix nil":                  {build: func() (Verifier, error) { return Svix(nil, 0) }, want: ErrNoSecret},
		"svix whsec_ alone":         {build: func() (Verifier, error) { return Svix([]string{"whsec_"}, 0) }, want: ErrNoSecret},
		"svix empty secret":         {build: func() (Verifier, error) { return Svix([]string{svixSecret, ""}, 0) }, want: ErrNoSecret},
		"svix not base64":           {build: func() (Verifier, error) { return Svix([]string{"whsec_not*base64"}, 0) }, want: ErrInvalidConfig},
		"svix negative tolerance":   {build: func() (Verifier, error) { return Svix([]string{svixSecret}, -1) }, want: ErrInvalidConfig},
		"sw nothing":                {build: func() (Verifier, error) { return StandardWebhooks(nil, nil, 0) }, want: ErrNoSecret},
		"sw empty lists":            {build: func() (Verifier, error) { return StandardWebhooks([]string{}, []string{}, 0) }, want: ErrNoSecret},
		"sw bad secret":             {build: func() (Verifier, error) { return StandardWebhooks([]string{"whsec_%%%"}, nil, 0) }, want: ErrInvalidConfig},
		"sw short public key":       {build: func() (Verifier, error) { return StandardWebhooks(nil, []string{"whpk_AAAA"}, 0) }, want: ErrInvalidConfig},
		"sw empty public key":       {build: func() (Verifier, error) { return StandardWebhooks(nil, []string{""}, 0) }, want: ErrInvalidConfig},
		"sw whpk_ alone":            {build: func() (Verifier, error) { return StandardWebhooks(nil, []string{"whpk_"}, 0) }, want: ErrInvalidConfig},
		"sw whsk_ wrong size":       {build: func() (Verifier, error) { return StandardWebhooks(nil, []string{"whsk_AAAA"}, 0) }, want: ErrInvalidConfig},
		"sw whsk_ inconsistent": {build: func() (Verifier, error) {
			return StandardWebhooks(nil, []string{"whsk_" + strings.Repeat("A", 86) + "=="}, 0)
		}, want: ErrInvalidConfig},
		"sw public key not base64":   {build: func() (Verifier, error) { return StandardWebhooks(nil, []string{"whpk_***"}, 0) }, want: ErrInvalidConfig},
		"workos nil":                 {build: func() (Verifier, error) { return WorkOS(nil, 0) }, want: ErrNoSecret},
		"workos negative tolerance":  {build: func() (Verifier, error) { return WorkOS([]string{"s"}, -time.Minute) }, want: ErrInvalidConfig},
		"segment nil":                {build: func() (Verifier, error) { return SegmentSignature(nil) }, want: ErrNoSecret},
		"github nil":                 {build: func() (Verifier, error) { return GitHub(nil) }, want: ErrNoSecret},
		"github empty secret":        {build: func() (Verifier, error) { return GitHub([]string{""}) }, want: ErrNoSecret},
		"hmac nil":                   {build: func() (Verifier, error) { return HMAC(HMACConfig{Header: "X-Sig"}, nil) }, want: ErrNoSecret},
		"sw public key only is fine": {build: func() (Verifier, error) { return StandardWebhooks(nil, []string{swPublicKey}, 0) }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v, err := tc.build()
			checkErr(t, err, tc.want)
			if (err == nil) != (v != nil) {
				t.Fatalf("got %v, %v: want exactly one of verifier and error", v, err)
			}
		})
	}
}

// allSchemes returns one verifier per scheme, configured with the vectors'
// secrets.
func allSchemes() map[string]Verifier {
	return map[string]Verifier{
		"stripe":           must(Stripe([]string{stripeSecret}, 0)),
		"svix":             must(Svix([]string{svixSecret}, 0)),
		"standardwebhooks": must(StandardWebhooks([]string{svixSecret}, []string{swPublicKey}, 0)),
		"workos":           must(WorkOS([]string{workosSecret}, 0)),
		"segment":          must(SegmentSignature([]string{segmentSecret})),
		"github":           must(GitHub([]string{githubSecret})),
		"hmac": must(HMAC(HMACConfig{Header: "X-Sig", SignedContent: SignedContentIDTimestampBody,
			TimestampHeader: "X-Ts", IDHeader: "X-Id"}, []string{githubSecret})),
		"bearer":      must(Bearer([]string{"tok_bearer_0123456789"})),
		"basic":       must(Basic([]Credential{{Username: "user", Password: "pass_0123456789"}})),
		"headertoken": must(HeaderToken("X-Webhook-Secret", []string{"tok_header_0123456789"})),
		"querytoken":  must(QueryToken("token", []string{"tok_query_0123456789"})),
		"all":         All(must(Bearer([]string{"tok_bearer_0123456789"}))),
	}
}

func TestNilAndEmptyRequests(t *testing.T) {
	for name, v := range allSchemes() {
		t.Run(name, func(t *testing.T) {
			checkErr(t, v.Verify(nil, time.Now()), ErrMissingSignature)
			checkErr(t, v.Verify(&Request{}, time.Now()), ErrMissingSignature)
		})
	}
}

// TestErrorsDoNotLeak checks that no error message contains a secret, a token,
// a received signature or the expected signature.
func TestErrorsDoNotLeak(t *testing.T) {
	vs := allSchemes()
	svixKey := svixKeyBytes(t, svixSecret)
	otherSvix := svixSign(t, "whsec_"+"YW5vdGhlci1zZWNyZXQta2V5LTI0Yg==", svixID, svixTS, svixBody)

	forbidden := []string{
		stripeSecret, svixSecret, strings.TrimPrefix(svixSecret, "whsec_"), svixKey, swSeed, workosSecret, segmentSecret, githubSecret,
		"tok_bearer_0123456789", "pass_0123456789", "tok_header_0123456789", "tok_query_0123456789",
		// received signatures
		stripeSig, stripeRolledSig, svixSig[3:], svixBadSig[3:], swV1aSig[4:], clerkSig[3:], segmentSig, githubSig[7:], workos5Sig, otherSvix[3:],
		// expected signatures for the tampered bodies below
		hexMAC(sha256.New, stripeSecret, "1700000000."+stripeBody+"x"),
		hexMAC(sha256.New, stripeSecret, "1700000001."+stripeBody),
		b64MAC(sha256.New, svixKey, svixID+"."+svixTS+"."+svixBody+"x"),
		hexMAC(sha256.New, workosSecret, "1632409405772."+workosBody+"x"),
		hexMAC(sha1.New, segmentSecret, segmentBody+"x"),
		hexMAC(sha256.New, githubSecret, githubBody+"x"),
		hexMAC(sha256.New, githubSecret, "id.1700000000."+githubBody),
	}

	type probe struct {
		scheme string
		header http.Header
		query  url.Values
		body   string
		now    time.Time
	}
	stripeNow, svixNow, workosNow := unix(stripeTS), unix(1614265330), time.UnixMilli(workosTS)
	probes := map[string]probe{
		"stripe tampered":       {scheme: "stripe", header: hdr("Stripe-Signature", stripeHeader+",v1="+stripeRolledSig), body: stripeBody + "x", now: stripeNow},
		"stripe ts changed":     {scheme: "stripe", header: hdr("Stripe-Signature", "t=1700000001,v1="+stripeSig), body: stripeBody, now: stripeNow},
		"stripe stale":          {scheme: "stripe", header: hdr("Stripe-Signature", stripeHeader), body: stripeBody, now: stripeNow.Add(time.Hour)},
		"stripe malformed":      {scheme: "stripe", header: hdr("Stripe-Signature", stripeSig+","+stripeSecret), body: stripeBody, now: stripeNow},
		"svix tampered":         {scheme: "svix", header: svixHeaders("svix-", svixID, svixTS, svixSig+" "+svixBadSig), body: svixBody + "x", now: svixNow},
		"svix other secret":     {scheme: "svix", header: svixHeaders("svix-", svixID, svixTS, otherSvix), body: svixBody, now: svixNow},
		"svix malformed":        {scheme: "svix", header: svixHeaders("svix-", svixID, svixTS, svixSig[3:]), body: svixBody, now: svixNow},
		"svix future":           {scheme: "svix", header: svixHeaders("svix-", svixID, svixTS, svixSig), body: svixBody, now: svixNow.Add(-time.Hour)},
		"sw tampered":           {scheme: "standardwebhooks", header: svixHeaders("webhook-", svixID, svixTS, svixSig+" "+swV1aSig), body: svixBody + "x", now: svixNow},
		"sw clerk sig":          {scheme: "standardwebhooks", header: svixHeaders("webhook-", svixID, svixTS, clerkSig), body: svixBody, now: svixNow},
		"workos tampered":       {scheme: "workos", header: hdr("WorkOS-Signature", workosHeader), body: workosBody + "x", now: workosNow},
		"workos malformed":      {scheme: "workos", header: hdr("WorkOS-Signature", "v1="+workos5Sig), body: workosBody, now: workosNow},
		"segment tampered":      {scheme: "segment", header: hdr("X-Signature", segmentSig), body: segmentBody + "x"},
		"segment wrong length":  {scheme: "segment", header: hdr("X-Signature", segmentSig+"00"), body: segmentBody},
		"github tampered":       {scheme: "github", header: hdr("X-Hub-Signature-256", githubSig), body: githubBody + "x"},
		"github no prefix":      {scheme: "github", header: hdr("X-Hub-Signature-256", githubSig[7:]), body: githubBody},
		"hmac mismatch":         {scheme: "hmac", header: hdr("X-Sig", githubSig[7:], "X-Id", "id", "X-Ts", "1700000000"), body: githubBody, now: stripeNow},
		"bearer wrong":          {scheme: "bearer", header: hdr("Authorization", "Bearer tok_bearer_012345678")},
		"bearer other scheme":   {scheme: "bearer", header: hdr("Authorization", "Token tok_bearer_0123456789")},
		"basic wrong":           {scheme: "basic", header: hdr("Authorization", basicAuth("user", "pass_012345678"))},
		"basic bad base64":      {scheme: "basic", header: hdr("Authorization", "Basic pass_0123456789")},
		"header token wrong":    {scheme: "headertoken", header: hdr("X-Webhook-Secret", "tok_header_012345678")},
		"query token wrong":     {scheme: "querytoken", query: url.Values{"token": {"tok_query_012345678"}}},
		"all with wrong bearer": {scheme: "all", header: hdr("Authorization", "Bearer tok_bearer_01234567899")},
	}
	for name, p := range probes {
		t.Run(name, func(t *testing.T) {
			err := vs[p.scheme].Verify(&Request{Header: p.header, Query: p.query, Body: []byte(p.body)}, p.now)
			if err == nil {
				t.Fatal("probe unexpectedly verified")
			}
			assertNoLeak(t, err.Error(), forbidden)
		})
	}

	// Constructor errors must not echo the configured secret either.
	badConfigs := map[string]func() (Verifier, error){
		"svix bad secret":    func() (Verifier, error) { return Svix([]string{"whsec_not*base64*SECRETVALUE"}, 0) },
		"sw bad public key":  func() (Verifier, error) { return StandardWebhooks(nil, []string{"whpk_SECRETVALUE"}, 0) },
		"sw bad private key": func() (Verifier, error) { return StandardWebhooks(nil, []string{"whsk_SECRETVALUE"}, 0) },
		"sw bad secret, 2nd": func() (Verifier, error) { return StandardWebhooks([]string{svixSecret, "SECRETVALUE!"}, nil, 0) },
		"basic colon in user": func() (Verifier, error) {
			return Basic([]Credential{{Username: "SECRET:VALUE", Password: "SECRETVALUE"}})
		},
		"hmac prefix": func() (Verifier, error) {
			return HMAC(HMACConfig{Header: "X", Prefix: " SECRETVALUE"}, []string{"SECRETVALUE"})
		},
		"hmac bad algo, secret": func() (Verifier, error) {
			return HMAC(HMACConfig{Header: "X", Algorithm: "md5"}, []string{"SECRETVALUE"})
		},
	}
	for name, build := range badConfigs {
		t.Run(name, func(t *testing.T) {
			_, err := build()
			if err == nil {
				t.Fatal("constructor unexpectedly succeeded")
			}
			assertNoLeak(t, err.Error(), []string{"SECRETVALUE", "SECRET:VALUE"})
		})
	}
}

func assertNoLeak(t *testing.T, msg string, forbidden []string) {
	t.Helper()
	lower := strings.ToLower(msg)
	for _, f := range forbidden {
		probes := []string{f}
		if len(f) > 12 {
			probes = append(probes, f[:12], f[len(f)-12:]) // truncated leaks count too
		}
		for _, p := range probes {
			if strings.Contains(msg, p) || strings.Contains(lower, strings.ToLower(p)) {
				t.Fatalf("error message %q contains secret material %q", msg, p)
			}
		}
	}
}

// TestConcurrentVerify shares verifiers (and their pooled hash states) across
// goroutines; run with -race.
func TestConcurrentVerify(t *testing.T) {
	stripe := must(Stripe([]string{stripeRolledSecret, stripeSecret}, 0))
	svix := must(Svix([]string{svixSecret}, 0))
	good := &Request{Header: hdr("Stripe-Signature", stripeHeader), Body: []byte(stripeBody)}
	bad := &Request{Header: hdr("Stripe-Signature", stripeHeader), Body: []byte(stripeBody + "x")}
	sv := &Request{Header: svixHeaders("svix-", svixID, svixTS, svixSig), Body: []byte(svixBody)}
	done := make(chan error)
	for g := range 8 {
		go func() {
			var err error
			for i := range 200 {
				switch {
				case stripe.Verify(good, unix(stripeTS)) != nil:
					err = fmt.Errorf("goroutine %d, iteration %d: genuine Stripe request rejected", g, i)
				case stripe.Verify(bad, unix(stripeTS)) == nil:
					err = fmt.Errorf("goroutine %d, iteration %d: tampered Stripe request accepted", g, i)
				case svix.Verify(sv, unix(1614265330)) != nil:
					err = fmt.Errorf("goroutine %d, iteration %d: genuine Svix request rejected", g, i)
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
