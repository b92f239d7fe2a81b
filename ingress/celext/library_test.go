package celext_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"

	"inlet.dev/inlet/ingress/celext"
)

// libraryVars carries the test vectors of providers.md as a request would.
var libraryVars = &celext.Vars{
	Headers: map[string]string{
		"x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
		"svix-id":             "msg_p5jXN8AQM9LWM0D4loKWxJek",
		"svix-timestamp":      "1614265330",
		"authorization":       "Bearer tok_123",
	},
	Vars: map[string]string{
		"githubSecret":  "It's a Secret to Everybody",
		"svixSecret":    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"stripeSecret":  "whsec_test_secret",
		"segmentSecret": "abc123",
	},
}

func TestLibrary(t *testing.T) {
	tests := []struct {
		expr    string
		rawBody string
		err     string
	}{
		// cel-go's JSON and YAML functions, priced by input size so the cost limit admits them.
		{expr: `json.parse('{"plan": "pro", "seats": 3}').value().seats == 3`},
		{expr: `json.encode({"a": [1, 2]}) == '{"a":[1,2]}'`},
		{expr: `yaml.parse('a: 1').value().a == 1`},
		// HMAC, every key/data type combination.
		{expr: "hex.encode(hmac.sha256('key', 'The quick brown fox jumps over the lazy dog')) == 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8'"},
		{expr: "hex.encode(hmac.sha256(b'key', b'The quick brown fox jumps over the lazy dog')) == 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8'"},
		{expr: "hex.encode(hmac.sha256(b'key', 'The quick brown fox jumps over the lazy dog')) == 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8'"},
		{expr: "hex.encode(hmac.sha256('key', b'The quick brown fox jumps over the lazy dog')) == 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8'"},
		{expr: "hex.encode(hmac.sha1('key', 'The quick brown fox jumps over the lazy dog')) == 'de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9'"},
		{expr: "hex.encode(hmac.sha512('key', 'The quick brown fox jumps over the lazy dog')) == 'b42af09057bac1e2d41708e48a902e09b5ff7f12ab428a4fe86653c73dd248fb82f948a549f7b791a5b41915ee4d1ec3935357e4e2317250d0372afa2ebeeb3a'"},
		{expr: "hex.encode(hmac.sha256('', '')) == 'b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad'"},
		{expr: "size(hmac.sha1(b'', b'')) == 20 && size(hmac.sha512('', '')) == 64"},

		// The providers' signature schemes, written as a preprocess step would.
		{ // GitHub X-Hub-Signature-256
			expr:    "secureCompare(headers['x-hub-signature-256'], 'sha256=' + hex.encode(hmac.sha256(vars.githubSecret, rawBody)))",
			rawBody: "Hello, World!",
		},
		{ // the same, comparing decoded bytes
			expr:    "secureCompare(hex.decode(headers['x-hub-signature-256'].trimPrefix('sha256=')), hmac.sha256(vars.githubSecret, rawBody))",
			rawBody: "Hello, World!",
		},
		{ // a tampered body fails
			expr:    "!secureCompare(headers['x-hub-signature-256'], 'sha256=' + hex.encode(hmac.sha256(vars.githubSecret, rawBody)))",
			rawBody: "Hello, World?",
		},
		{ // Stripe v1
			expr:    "hex.encode(hmac.sha256(vars.stripeSecret, '1700000000.' + string(rawBody))) == '8bf06157161fb2abf0ea74bbdecb0380b17813d21157ecfb459a2de2b8d1b3a7'",
			rawBody: `{"id":"evt_test_webhook","object":"event","type":"customer.created"}`,
		},
		{ // Svix / Standard Webhooks v1: the key is base64 after whsec_
			expr:    "base64.encode(hmac.sha256(base64.decode(vars.svixSecret.trimPrefix('whsec_')), headers['svix-id'] + '.' + headers['svix-timestamp'] + '.' + string(rawBody))) == 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='",
			rawBody: `{"test": 2432232314}`,
		},
		{ // Segment X-Signature, HMAC-SHA1
			expr:    "hex.encode(hmac.sha1(vars.segmentSecret, rawBody)) == '4c255099fe3bf3073eca732f8d4ff161091690b7'",
			rawBody: `{"type":"track","event":"user.created","userId":"user-1","messageId":"some-id-from-source","properties":{"id":"user-1"}}`,
		},
		{ // svix-timestamp within tolerance of a fixed "now"
			expr: "timestamp('2021-02-25T15:05:00Z') - unixTime(int(headers['svix-timestamp'])) < duration('5m')",
		},

		// Hashes.
		{expr: "hex.encode(sha256('abc')) == 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'"},
		{expr: "hex.encode(sha256(b'abc')) == 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'"},
		{expr: "hex.encode(sha1(b'')) == 'da39a3ee5e6b4b0d3255bfef95601890afd80709'"},
		{expr: "hex.encode(sha1('')) == 'da39a3ee5e6b4b0d3255bfef95601890afd80709'"},
		{expr: "hex.encode(sha512('abc')) == 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f'"},
		{expr: "sha256(rawBody) == sha256('Hello, World!')", rawBody: "Hello, World!"},

		// Hex.
		{expr: "hex.encode(b'\\x01\\xab') == '01ab'"},
		{expr: "hex.encode(b'') == ''"},
		{expr: "hex.decode('01AB') == b'\\x01\\xab'"},
		{expr: "hex.decode('01ab') == b'\\x01\\xab'"},
		{expr: "hex.decode('') == b''"},
		{expr: "hex.decode(hex.encode(b'round trip')) == b'round trip'"},
		{expr: "hex.decode('zz') == b''", err: "hex.decode: encoding/hex: invalid byte: U+007A 'z'"},
		{expr: "hex.decode('abc') == b''", err: "hex.decode: encoding/hex: odd length hex string"},
		{expr: "hex.encode('01')", err: "found no matching overload for 'hex.encode' applied to '(string)'"},

		// Constant-time compare.
		{expr: "secureCompare('tok_123', 'tok_123')"},
		{expr: "!secureCompare('tok_123', 'tok_124')"},
		{expr: "!secureCompare('tok_123', 'tok_1234')"},
		{expr: "secureCompare('', '')"},
		{expr: "secureCompare(b'\\x00\\xff', b'\\x00\\xff')"},
		{expr: "!secureCompare(b'\\x00', b'')"},
		{expr: "secureCompare(headers['authorization'], 'Bearer tok_123')"},
		{expr: "secureCompare('a', b'a')", err: "found no matching overload for 'secureCompare' applied to '(string, bytes)'"},

		// Time.
		{expr: "unixTime(1700000000) == timestamp('2023-11-14T22:13:20Z')"},
		{expr: "unixTime(0) == timestamp('1970-01-01T00:00:00Z')"},
		{expr: "unixTime(-1) == timestamp('1969-12-31T23:59:59Z')"},
		{expr: "unixTime(1700000000.25) == timestamp('2023-11-14T22:13:20.25Z')"},
		{expr: "unixTime(dyn(1700000000.0)) == timestamp('2023-11-14T22:13:20Z')"},
		{expr: "unixTime(253402300799) == timestamp('9999-12-31T23:59:59Z')"},
		{expr: "unixTime(-62135596800) == timestamp('0001-01-01T00:00:00Z')"},
		{expr: "unixTime(253402300800) == timestamp('1970-01-01T00:00:00Z')", err: "unixTime: 253402300800 is outside the timestamp range"},
		{expr: "unixTime(-62135596801) == timestamp('1970-01-01T00:00:00Z')", err: "outside the timestamp range"},
		{expr: "unixTime(1e300) == timestamp('1970-01-01T00:00:00Z')", err: "unixTime: 1e+300 is outside the timestamp range"},
		{expr: "unixTime(0.0 / 0.0) == timestamp('1970-01-01T00:00:00Z')", err: "unixTime: NaN is outside the timestamp range"},
		{expr: "unixMilliTime(1632409405772) == timestamp('2021-09-23T15:03:25.772Z')"},
		{expr: "unixMilliTime(1632409405772.0) == timestamp('2021-09-23T15:03:25.772Z')"},
		{expr: "unixMilliTime(-1) == timestamp('1969-12-31T23:59:59.999Z')"},
		{expr: "unixMilliTime(9223372036854775807) == timestamp('1970-01-01T00:00:00Z')", err: "unixMilliTime: 9223372036854775807 is outside the timestamp range"},
		{expr: "parseTime('2024-03-01', '2006-01-02') == timestamp('2024-03-01T00:00:00Z')"},
		{expr: "parseTime('Fri, 01 Mar 2024 10:00:00 +0100', 'Mon, 02 Jan 2006 15:04:05 -0700') == timestamp('2024-03-01T09:00:00Z')"},
		{expr: "parseTime('01/03/2024 10:00', '02/01/2006 15:04').getHours() == 10"},
		{expr: "parseTime('yesterday', '2006-01-02') == timestamp('2024-01-01T00:00:00Z')", err: `parseTime: parsing time "yesterday" as "2006-01-02": cannot parse "yesterday" as "2006"`},
		{expr: "parseTime('2024-03-01', 'not a layout') == timestamp('2024-01-01T00:00:00Z')", err: "parseTime: parsing time"},

		// Strings.
		{expr: "'sha256=abc'.trimPrefix('sha256=') == 'abc'"},
		{expr: "'abc'.trimPrefix('sha256=') == 'abc'"},
		{expr: "headers['authorization'].trimPrefix('Bearer ') == 'tok_123'"},
		{expr: "'user@example.com'.trimSuffix('@example.com') == 'user'"},
		{expr: "'user@example.com'.trimSuffix('@other.com') == 'user@example.com'"},
		{expr: "''.trimPrefix('') == '' && 'x'.trimSuffix('') == 'x'"},
	}
	env, err := celext.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			vars := *libraryVars
			vars.RawBody = []byte(tc.rawBody)
			prg, err := celext.Compile(env, "test", tc.expr, cel.BoolType)
			if err == nil {
				var ok bool
				ok, err = prg.EvalBool(context.Background(), &vars)
				if err == nil && !ok {
					t.Fatal("got false, want true")
				}
			}
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.err != "" && err == nil:
				t.Fatalf("got no error, want one containing %q", tc.err)
			case tc.err != "" && !strings.Contains(err.Error(), tc.err):
				t.Fatalf("got error %q, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestLibraryVersion(t *testing.T) {
	if _, err := cel.NewEnv(celext.Library(celext.Version(celext.LatestVersion))); err != nil {
		t.Errorf("Version(LatestVersion): %v", err)
	}
	_, err := cel.NewEnv(celext.Library(celext.Version(celext.LatestVersion + 1)))
	if err == nil || !strings.Contains(err.Error(), "inlet.lib: version 1 requested") {
		t.Errorf("Version(LatestVersion+1): got %v, want an error", err)
	}
	// The library is a singleton: configuring it twice is harmless.
	if _, err := cel.NewEnv(celext.Library(), celext.Library()); err != nil {
		t.Errorf("Library twice: %v", err)
	}
}

func TestLibraryOverloadIDs(t *testing.T) {
	base, err := cel.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	env, err := base.Extend(celext.Library())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for name, fn := range env.Functions() {
		if _, std := base.Functions()[name]; std {
			continue
		}
		for _, o := range fn.OverloadDecls() {
			got = append(got, o.ID())
		}
	}
	slices.Sort(got)
	want := []string{
		"hex_decode_string", "hex_encode_bytes",
		"hmac_sha1_bytes_bytes", "hmac_sha1_bytes_string", "hmac_sha1_string_bytes", "hmac_sha1_string_string",
		"hmac_sha256_bytes_bytes", "hmac_sha256_bytes_string", "hmac_sha256_string_bytes", "hmac_sha256_string_string",
		"hmac_sha512_bytes_bytes", "hmac_sha512_bytes_string", "hmac_sha512_string_bytes", "hmac_sha512_string_string",
		"parse_time_string_string",
		"secure_compare_bytes_bytes", "secure_compare_string_string",
		"sha1_bytes", "sha1_string", "sha256_bytes", "sha256_string", "sha512_bytes", "sha512_string",
		"string_trim_prefix_string", "string_trim_suffix_string",
		"unix_milli_time_double", "unix_milli_time_int", "unix_time_double", "unix_time_int",
	}
	if !slices.Equal(got, want) {
		t.Errorf("overload IDs:\n got  %q\n want %q", got, want)
	}
}

// TestLibraryCost checks that the functions reading their whole input are charged in
// proportion to its size, at compile time (estimates) and at run time (actual cost).
func TestLibraryCost(t *testing.T) {
	env, err := celext.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, expr := range []string{
		"hmac.sha256(vars.secret, rawBody)",
		"sha512(rawBody)",
		"hex.encode(rawBody)",
		"secureCompare(rawBody, rawBody)",
	} {
		t.Run(expr, func(t *testing.T) {
			ast, iss := env.Compile(expr)
			if iss.Err() != nil {
				t.Fatal(iss.Err())
			}
			est, err := env.EstimateCost(ast, rawBodySize(1000))
			if err != nil {
				t.Fatal(err)
			}
			if est.Max < 100 {
				t.Errorf("estimate for a 1000-byte body is %d, want at least 100", est.Max)
			}
			prg, err := env.Program(ast, cel.CostLimit(celext.DefaultCostLimit))
			if err != nil {
				t.Fatal(err)
			}
			costOf := func(n int) uint64 {
				_, det, err := prg.Eval(&celext.Vars{RawBody: make([]byte, n), Vars: map[string]string{"secret": "k"}})
				if err != nil {
					t.Fatal(err)
				}
				return *det.ActualCost()
			}
			small, large := costOf(1_000), costOf(101_000)
			if d := large - small; d < 10_000 {
				t.Errorf("100,000 more bytes cost %d more, want at least 10,000 (0.1 a byte)", d)
			}
		})
	}
}

// rawBodySize is a cost estimator that knows rawBody's size.
type rawBodySize uint64

func (n rawBodySize) EstimateSize(element cost.AstNode) *cost.SizeEstimate {
	if p := element.Path(); len(p) == 1 && p[0] == celext.VarRawBody {
		return &cost.SizeEstimate{Min: 0, Max: uint64(n)}
	}
	return nil
}

func (rawBodySize) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}
