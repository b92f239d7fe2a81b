package verify

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestTokens(t *testing.T) {
	const tok = "tok_3f9a8c2b7e6d4f1a"
	bearer := must(Bearer([]string{"tok_old", tok}))
	basic := must(Basic([]Credential{{Username: "old", Password: "pw-old"}, {Username: "census", Password: "s3cret"}}))
	header := must(HeaderToken("x-webhook-secret", []string{tok}))
	query := must(QueryToken("census_authentication", []string{tok}))

	tests := map[string]struct {
		v      Verifier
		header http.Header
		query  url.Values
		want   error
	}{
		"bearer":                  {v: bearer, header: hdr("Authorization", "Bearer "+tok)},
		"bearer lowercase scheme": {v: bearer, header: hdr("Authorization", "bearer "+tok)},
		"bearer old token":        {v: bearer, header: hdr("Authorization", "Bearer tok_old")},
		"bearer wrong":            {v: bearer, header: hdr("Authorization", "Bearer tok_3f9a8c2b7e6d4f1b"), want: ErrSignatureMismatch},
		"bearer prefix of token":  {v: bearer, header: hdr("Authorization", "Bearer tok_3f9a"), want: ErrSignatureMismatch},
		"bearer token + suffix":   {v: bearer, header: hdr("Authorization", "Bearer "+tok+"x"), want: ErrSignatureMismatch},
		"bearer missing":          {v: bearer, header: hdr(), want: ErrMissingSignature},
		"bearer no token":         {v: bearer, header: hdr("Authorization", "Bearer"), want: ErrMalformedSignature},
		"bearer blank token":      {v: bearer, header: hdr("Authorization", "Bearer    "), want: ErrMalformedSignature},
		"bearer raw token":        {v: bearer, header: hdr("Authorization", tok), want: ErrMalformedSignature},
		"bearer basic scheme":     {v: bearer, header: hdr("Authorization", basicAuth("census", "s3cret")), want: ErrMalformedSignature},
		"basic":                   {v: basic, header: hdr("Authorization", basicAuth("census", "s3cret"))},
		"basic old creds":         {v: basic, header: hdr("Authorization", basicAuth("old", "pw-old"))},
		"basic password colon":    {v: must(Basic([]Credential{{Username: "u", Password: "a:b"}})), header: hdr("Authorization", basicAuth("u", "a:b"))},
		"basic wrong password":    {v: basic, header: hdr("Authorization", basicAuth("census", "s3cre")), want: ErrSignatureMismatch},
		"basic wrong user":        {v: basic, header: hdr("Authorization", basicAuth("censuz", "s3cret")), want: ErrSignatureMismatch},
		"basic crossed creds":     {v: basic, header: hdr("Authorization", basicAuth("old", "s3cret")), want: ErrSignatureMismatch},
		"basic missing":           {v: basic, header: hdr(), want: ErrMissingSignature},
		"basic bad base64":        {v: basic, header: hdr("Authorization", "Basic !!!"), want: ErrMalformedSignature},
		"basic no colon":          {v: basic, header: hdr("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("census"))), want: ErrMalformedSignature},
		"basic bearer scheme":     {v: basic, header: hdr("Authorization", "Bearer "+tok), want: ErrMalformedSignature},
		"header token":            {v: header, header: hdr("X-Webhook-Secret", tok)},
		"header token wrong":      {v: header, header: hdr("X-Webhook-Secret", "nope"), want: ErrSignatureMismatch},
		"header token missing":    {v: header, header: hdr("Authorization", "Bearer "+tok), want: ErrMissingSignature},
		"query token":             {v: query, query: url.Values{"census_authentication": {tok}}},
		"query token wrong":       {v: query, query: url.Values{"census_authentication": {"nope"}}, want: ErrSignatureMismatch},
		"query token missing":     {v: query, query: url.Values{"other": {tok}}, want: ErrMissingSignature},
		"query token nil query":   {v: query, want: ErrMissingSignature},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			checkErr(t, tc.v.Verify(&Request{Header: tc.header, Query: tc.query}, time.Time{}), tc.want)
		})
	}
}

func TestTokenConstructors(t *testing.T) {
	tests := map[string]struct {
		build func() (Verifier, error)
		want  error
	}{
		"bearer nil":               {build: func() (Verifier, error) { return Bearer(nil) }, want: ErrNoSecret},
		"bearer empty token":       {build: func() (Verifier, error) { return Bearer([]string{"a", ""}) }, want: ErrNoSecret},
		"basic nil":                {build: func() (Verifier, error) { return Basic(nil) }, want: ErrNoSecret},
		"basic empty password":     {build: func() (Verifier, error) { return Basic([]Credential{{Username: "u"}}) }, want: ErrNoSecret},
		"basic colon in username":  {build: func() (Verifier, error) { return Basic([]Credential{{Username: "u:v", Password: "p"}}) }, want: ErrInvalidConfig},
		"basic empty username ok":  {build: func() (Verifier, error) { return Basic([]Credential{{Password: "p"}}) }},
		"header token no header":   {build: func() (Verifier, error) { return HeaderToken("", []string{"t"}) }, want: ErrInvalidConfig},
		"header token bad header":  {build: func() (Verifier, error) { return HeaderToken("X Secret", []string{"t"}) }, want: ErrInvalidConfig},
		"header token no tokens":   {build: func() (Verifier, error) { return HeaderToken("X-Secret", nil) }, want: ErrNoSecret},
		"query token no param":     {build: func() (Verifier, error) { return QueryToken("", []string{"t"}) }, want: ErrInvalidConfig},
		"query token empty tokens": {build: func() (Verifier, error) { return QueryToken("k", []string{""}) }, want: ErrNoSecret},
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

func TestAllAndNone(t *testing.T) {
	endpoint := must(QueryToken("token", []string{"endpoint-token"}))
	header := must(HeaderToken("X-Webhook-Secret", []string{"header-token"}))
	both := All(endpoint, header)
	good := &Request{Header: hdr("X-Webhook-Secret", "header-token"), Query: url.Values{"token": {"endpoint-token"}}}

	tests := map[string]struct {
		v    Verifier
		r    *Request
		want error
	}{
		"all pass":            {v: both, r: good},
		"all: header missing": {v: both, r: &Request{Query: good.Query}, want: ErrMissingSignature},
		"all: query wrong":    {v: both, r: &Request{Header: good.Header, Query: url.Values{"token": {"x"}}}, want: ErrSignatureMismatch},
		"all: empty":          {v: All(), r: good, want: ErrNoSecret},
		"all: nil verifier":   {v: All(endpoint, nil), r: good, want: ErrNoSecret},
		"all: nested":         {v: All(All(endpoint), None(), header), r: good},
		"none":                {v: None(), r: &Request{}},
		"none: nil request":   {v: None(), r: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			checkErr(t, tc.v.Verify(tc.r, time.Time{}), tc.want)
		})
	}
}

func TestAllCopiesItsArguments(t *testing.T) {
	vs := []Verifier{must(Bearer([]string{"t"}))}
	a := All(vs...)
	vs[0] = None()
	if a.Verify(&Request{}, time.Time{}) == nil {
		t.Fatal("All must not see later changes to the caller's slice")
	}
}
