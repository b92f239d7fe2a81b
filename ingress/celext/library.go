package celext

import (
	"crypto/hmac"
	"crypto/sha1" // Segment's X-Signature and GitHub's legacy X-Hub-Signature are HMAC-SHA1.
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"hash"
	"math"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/functions"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// LatestVersion is the newest version of the inlet function library. Library without a
// Version option provides every function up to this version.
const LatestVersion uint32 = 0

// Option configures the function library returned by Library.
type Option func(*library)

// Version limits the library to the functions introduced at or before version v, so that an
// environment keeps accepting (and rejecting) the same expressions when this package gains
// functions. A version above LatestVersion makes the environment fail to build.
func Version(v uint32) Option {
	return func(l *library) {
		l.version = v
	}
}

// Library returns the inlet CEL function library: the functions webhook verification and
// mapping need and the CEL standard library and cel-go's extensions lack. The package
// documentation lists them; each one is described here in the form
// `name(<argument types>) -> <result type>` with examples.
//
// Every function is total: bad input (an odd-length hex string, a time that does not match
// its layout) is a CEL error value that names the function, never a panic. Every function that
// reads its whole input is charged in proportion to the input's length, so a cost limit bounds
// hashing a large body as it bounds any string scan.
//
// # HMAC
//
// Computes the HMAC of data under key with SHA-1, SHA-256 or SHA-512. Key and data may each be
// bytes or a string (a string is used as its UTF-8 bytes).
//
//	hmac.sha1(<bytes|string>, <bytes|string>) -> <bytes>
//	hmac.sha256(<bytes|string>, <bytes|string>) -> <bytes>
//	hmac.sha512(<bytes|string>, <bytes|string>) -> <bytes>
//
// Examples:
//
//	hex.encode(hmac.sha256('key', 'The quick brown fox jumps over the lazy dog'))
//	    // returns 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8'
//	hmac.sha256(vars.secret, rawBody)
//	base64.encode(hmac.sha256(base64.decode(vars.secret.trimPrefix('whsec_')),
//	    headers['svix-id'] + '.' + headers['svix-timestamp'] + '.' + string(rawBody)))
//
// # Hashes
//
// Computes the SHA-1, SHA-256 or SHA-512 digest of bytes or of a string's UTF-8 bytes.
//
//	sha1(<bytes|string>) -> <bytes>
//	sha256(<bytes|string>) -> <bytes>
//	sha512(<bytes|string>) -> <bytes>
//
// Examples:
//
//	hex.encode(sha256('abc'))
//	    // returns 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
//	hex.encode(sha1(b''))  // returns 'da39a3ee5e6b4b0d3255bfef95601890afd80709'
//
// # Hex.Encode
//
// Encodes bytes as a lower-case hexadecimal string.
//
//	hex.encode(<bytes>) -> <string>
//
// Examples:
//
//	hex.encode(b'\x01\xab')  // returns '01ab'
//	hex.encode(b'')          // returns ''
//
// # Hex.Decode
//
// Decodes a hexadecimal string (either case) to bytes. A string of odd length or with a
// character outside [0-9a-fA-F] is an error.
//
//	hex.decode(<string>) -> <bytes>
//
// Examples:
//
//	hex.decode('01AB')  // returns b'\x01\xab'
//	hex.decode('zz')    // error: hex.decode: encoding/hex: invalid byte: U+007A 'z'
//
// # SecureCompare
//
// Reports whether two strings, or two byte sequences, are equal, taking time that depends only
// on their lengths and not on their contents (crypto/subtle.ConstantTimeCompare). Use it, not
// ==, to compare a signature or token from a request with an expected value.
//
//	secureCompare(<string>, <string>) -> <bool>
//	secureCompare(<bytes>, <bytes>) -> <bool>
//
// Examples:
//
//	secureCompare(headers['x-webhook-secret'], vars.webhookSecret)
//	secureCompare(hex.decode(headers['x-hub-signature-256'].trimPrefix('sha256=')),
//	    hmac.sha256(vars.githubSecret, rawBody))
//
// # UnixTime
//
// Converts seconds since the Unix epoch to a timestamp. The double overload accepts fractional
// seconds and is what a JSON number in the body (such as Stripe's created) arrives as. A value
// outside the timestamp range (years 1 to 9999) is an error.
//
//	unixTime(<int>) -> <timestamp>
//	unixTime(<double>) -> <timestamp>
//
// Examples:
//
//	unixTime(1700000000)        // returns timestamp('2023-11-14T22:13:20Z')
//	unixTime(body.created)      // a JSON number
//	unixTime(int(headers['svix-timestamp']))
//
// # UnixMilliTime
//
// Converts milliseconds since the Unix epoch to a timestamp, as WorkOS and many JavaScript
// senders write times. A value outside the timestamp range is an error.
//
//	unixMilliTime(<int>) -> <timestamp>
//	unixMilliTime(<double>) -> <timestamp>
//
// Examples:
//
//	unixMilliTime(1632409405772)  // returns timestamp('2021-09-23T15:03:25.772Z')
//
// # ParseTime
//
// Parses a string with a Go time layout (the reference time Mon Jan 2 15:04:05 MST 2006
// written the way the input writes times). A value without a zone in the layout is read as UTC.
// A string that does not match the layout is an error. For RFC 3339 strings the standard
// timestamp(<string>) conversion is enough.
//
//	parseTime(<string>, <string>) -> <timestamp>
//
// Examples:
//
//	parseTime('2024-03-01', '2006-01-02')  // returns timestamp('2024-03-01T00:00:00Z')
//	parseTime('Fri, 01 Mar 2024 10:00:00 +0100', 'Mon, 02 Jan 2006 15:04:05 -0700')
//	    // returns timestamp('2024-03-01T09:00:00Z')
//	parseTime('yesterday', '2006-01-02')  // error
//
// # TrimPrefix, TrimSuffix
//
// Returns the string without the given leading or trailing string; the string is returned
// unchanged if it does not start or end with it. cel-go's strings extension trims only
// whitespace.
//
//	<string>.trimPrefix(<string>) -> <string>
//	<string>.trimSuffix(<string>) -> <string>
//
// Examples:
//
//	'sha256=abc'.trimPrefix('sha256=')                        // returns 'abc'
//	headers['authorization'].trimPrefix('Bearer ')
//	'user@example.com'.trimSuffix('@example.com')             // returns 'user'
func Library(opts ...Option) cel.EnvOption {
	l := &library{version: LatestVersion}
	for _, o := range opts {
		o(l)
	}
	return cel.Lib(l)
}

// library is the cel.Library behind Library.
type library struct {
	version uint32
}

// LibraryName implements cel.SingletonLibrary, so the library is configured once per
// environment however often Library is passed.
func (*library) LibraryName() string {
	return "inlet.lib"
}

// LibraryVersion implements cel.LibraryVersioner for environment serialisation.
func (l *library) LibraryVersion() uint32 {
	return l.version
}

// CompileOptions implements cel.Library.
func (l *library) CompileOptions() []cel.EnvOption {
	if l.version > LatestVersion {
		return []cel.EnvOption{func(*cel.Env) (*cel.Env, error) {
			return nil, fmt.Errorf("inlet.lib: version %d requested, this build provides up to %d", l.version, LatestVersion)
		}}
	}
	var opts []cel.EnvOption
	for _, a := range hashAlgorithms {
		opts = append(opts, hmacFunction(a), digestFunction(a))
	}
	opts = append(opts,
		cel.Function("hex.encode",
			cel.Overload("hex_encode_bytes", []*cel.Type{cel.BytesType}, cel.StringType,
				cel.UnaryBinding(hexEncode))),
		cel.Function("hex.decode",
			cel.Overload("hex_decode_string", []*cel.Type{cel.StringType}, cel.BytesType,
				cel.UnaryBinding(hexDecode))),

		cel.Function("secureCompare",
			cel.Overload("secure_compare_string_string", []*cel.Type{cel.StringType, cel.StringType}, cel.BoolType,
				cel.BinaryBinding(secureCompare)),
			cel.Overload("secure_compare_bytes_bytes", []*cel.Type{cel.BytesType, cel.BytesType}, cel.BoolType,
				cel.BinaryBinding(secureCompare))),

		cel.Function("unixTime",
			cel.Overload("unix_time_int", []*cel.Type{cel.IntType}, cel.TimestampType,
				cel.UnaryBinding(unixTime(time.Second))),
			cel.Overload("unix_time_double", []*cel.Type{cel.DoubleType}, cel.TimestampType,
				cel.UnaryBinding(unixTime(time.Second)))),
		cel.Function("unixMilliTime",
			cel.Overload("unix_milli_time_int", []*cel.Type{cel.IntType}, cel.TimestampType,
				cel.UnaryBinding(unixTime(time.Millisecond))),
			cel.Overload("unix_milli_time_double", []*cel.Type{cel.DoubleType}, cel.TimestampType,
				cel.UnaryBinding(unixTime(time.Millisecond)))),
		cel.Function("parseTime",
			cel.Overload("parse_time_string_string", []*cel.Type{cel.StringType, cel.StringType}, cel.TimestampType,
				cel.BinaryBinding(parseTime))),

		cel.Function("trimPrefix",
			cel.MemberOverload("string_trim_prefix_string", []*cel.Type{cel.StringType, cel.StringType}, cel.StringType,
				cel.BinaryBinding(trim(strings.TrimPrefix)))),
		cel.Function("trimSuffix",
			cel.MemberOverload("string_trim_suffix_string", []*cel.Type{cel.StringType, cel.StringType}, cel.StringType,
				cel.BinaryBinding(trim(strings.TrimSuffix)))),

		cel.CostModel(costModels()...),
	)
	// Functions added after version 0 are appended here behind `if l.version >= N`, and their
	// documentation says "Introduced at version: N".
	return opts
}

// ProgramOptions implements cel.Library. The runtime costs come from the cel.CostModel in
// CompileOptions, which configures the estimator and the tracker from one definition.
func (*library) ProgramOptions() []cel.ProgramOption {
	return nil
}

// hashAlgorithm is one hash the library offers as name(...) and hmac.name(...).
type hashAlgorithm struct {
	name    string
	newHash func() hash.Hash
}

var hashAlgorithms = []hashAlgorithm{
	{name: "sha1", newHash: sha1.New},
	{name: "sha256", newHash: sha256.New},
	{name: "sha512", newHash: sha512.New},
}

// The argument types of the hash and HMAC functions, with the overload ID suffix naming them.
var (
	unaryBytesOrString = []struct {
		suffix string
		args   []*cel.Type
	}{
		{"_bytes", []*cel.Type{cel.BytesType}},
		{"_string", []*cel.Type{cel.StringType}},
	}
	binaryBytesOrString = []struct {
		suffix string
		args   []*cel.Type
	}{
		{"_bytes_bytes", []*cel.Type{cel.BytesType, cel.BytesType}},
		{"_bytes_string", []*cel.Type{cel.BytesType, cel.StringType}},
		{"_string_bytes", []*cel.Type{cel.StringType, cel.BytesType}},
		{"_string_string", []*cel.Type{cel.StringType, cel.StringType}},
	}
)

// hmacFunction declares hmac.<name> with the overloads hmac_<name>_bytes_bytes,
// hmac_<name>_bytes_string, hmac_<name>_string_bytes and hmac_<name>_string_string.
func hmacFunction(a hashAlgorithm) cel.EnvOption {
	binding := cel.BinaryBinding(hmacOf(a.newHash))
	overloads := make([]cel.FunctionOpt, 0, len(binaryBytesOrString))
	for _, o := range binaryBytesOrString {
		overloads = append(overloads, cel.Overload("hmac_"+a.name+o.suffix, o.args, cel.BytesType, binding))
	}
	return cel.Function("hmac."+a.name, overloads...)
}

// digestFunction declares <name> with the overloads <name>_bytes and <name>_string.
func digestFunction(a hashAlgorithm) cel.EnvOption {
	binding := cel.UnaryBinding(digest(a.newHash))
	overloads := make([]cel.FunctionOpt, 0, len(unaryBytesOrString))
	for _, o := range unaryBytesOrString {
		overloads = append(overloads, cel.Overload(a.name+o.suffix, o.args, cel.BytesType, binding))
	}
	return cel.Function(a.name, overloads...)
}

// costModels prices every function whose work grows with its input: a call plus a scan of the
// input at the cost of a CEL string scan (0.1 per byte or code point), the factor cel-go charges
// base64.encode. Constant-time functions (unixTime, unixMilliTime) keep the default call cost.
func costModels() []cost.OverloadModel {
	call := cost.Const(cost.CallCost)
	scanArgs := func(n int) cost.OverloadModelOption {
		terms := make([]cost.QuantityExpr, 0, 1+n)
		terms = append(terms, call)
		for i := range n {
			terms = append(terms, cost.StringScan(cost.Length(cost.Arg(i))))
		}
		return cost.EvalCost(cost.Sum(terms...))
	}
	// A hash or an HMAC is one digest: at most 64 bytes.
	digestSize := cost.ResultSize(cost.AtMost(cost.Const(sha512.Size)))
	models := make([]cost.OverloadModel, 0, (len(binaryBytesOrString)+len(unaryBytesOrString))*len(hashAlgorithms)+16)
	for _, a := range hashAlgorithms {
		for _, o := range binaryBytesOrString {
			models = append(models, cost.Overload("hmac_"+a.name+o.suffix, scanArgs(2), digestSize))
		}
		for _, o := range unaryBytesOrString {
			models = append(models, cost.Overload(a.name+o.suffix, scanArgs(1), digestSize))
		}
	}
	models = append(models,
		// Encoding n bytes yields 2n characters; decoding n characters yields at most n/2 bytes.
		cost.Overload("hex_encode_bytes", scanArgs(1), cost.ResultSize(cost.Scale(cost.Length(cost.Arg(0)), 2))),
		cost.Overload("hex_decode_string", scanArgs(1),
			cost.ResultSize(cost.AtMost(cost.AtLeastOneQuantity(cost.Scale(cost.Length(cost.Arg(0)), 0.5))))),
		cost.Overload("secure_compare_string_string", scanArgs(2)),
		cost.Overload("secure_compare_bytes_bytes", scanArgs(2)),
		cost.Overload("parse_time_string_string", scanArgs(2)),
		// cel-go prices JSON and YAML parsing as unbounded, which no cost limit admits; the
		// input here is bounded by the request body limit, so charge a scan of it instead.
		cost.Overload("json_parse_string", scanArgs(1)),
		cost.Overload("json_parse_string_type", scanArgs(1)),
		cost.Overload("yaml_parse_string", scanArgs(1)),
		cost.Overload("yaml_parse_string_type", scanArgs(1)),
		// Encoding a value costs in proportion to its size: charge 10 per element.
		cost.Overload("json_encode_dyn", cost.EvalCost(cost.Sum(call, cost.Scale(cost.Length(cost.Arg(0)), 10)))),
		cost.Overload("yaml_encode_dyn", cost.EvalCost(cost.Sum(call, cost.Scale(cost.Length(cost.Arg(0)), 10)))),
		cost.MemberOverload("string_trim_prefix_string",
			cost.EvalCost(cost.Sum(call, cost.StringScan(cost.Length(cost.Arg(0))))),
			cost.ResultSize(cost.AtMost(cost.Target()))),
		cost.MemberOverload("string_trim_suffix_string",
			cost.EvalCost(cost.Sum(call, cost.StringScan(cost.Length(cost.Arg(0))))),
			cost.ResultSize(cost.AtMost(cost.Target()))),
	)
	return models
}

// bytesOf returns the bytes of a bytes value or the UTF-8 bytes of a string value.
func bytesOf(v ref.Val) ([]byte, bool) {
	switch t := v.(type) {
	case types.Bytes:
		return t, true
	case types.String:
		return []byte(t), true
	}
	return nil, false
}

func hmacOf(newHash func() hash.Hash) functions.BinaryOp {
	return func(key, data ref.Val) ref.Val {
		k, ok := bytesOf(key)
		if !ok {
			return types.MaybeNoSuchOverloadErr(key)
		}
		d, ok := bytesOf(data)
		if !ok {
			return types.MaybeNoSuchOverloadErr(data)
		}
		mac := hmac.New(newHash, k)
		mac.Write(d) // hash.Hash.Write never returns an error.
		return types.Bytes(mac.Sum(nil))
	}
}

func digest(newHash func() hash.Hash) functions.UnaryOp {
	return func(v ref.Val) ref.Val {
		b, ok := bytesOf(v)
		if !ok {
			return types.MaybeNoSuchOverloadErr(v)
		}
		h := newHash()
		h.Write(b) // hash.Hash.Write never returns an error.
		return types.Bytes(h.Sum(nil))
	}
}

func hexEncode(v ref.Val) ref.Val {
	b, ok := v.(types.Bytes)
	if !ok {
		return types.MaybeNoSuchOverloadErr(v)
	}
	return types.String(hex.EncodeToString(b))
}

func hexDecode(v ref.Val) ref.Val {
	s, ok := v.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(v)
	}
	b, err := hex.DecodeString(string(s))
	if err != nil {
		return types.NewErr("hex.decode: %w", err)
	}
	return types.Bytes(b)
}

func secureCompare(lhs, rhs ref.Val) ref.Val {
	switch a := lhs.(type) {
	case types.String:
		b, ok := rhs.(types.String)
		if !ok {
			return types.MaybeNoSuchOverloadErr(rhs)
		}
		return types.Bool(subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1)
	case types.Bytes:
		b, ok := rhs.(types.Bytes)
		if !ok {
			return types.MaybeNoSuchOverloadErr(rhs)
		}
		return types.Bool(subtle.ConstantTimeCompare(a, b) == 1)
	}
	return types.MaybeNoSuchOverloadErr(lhs)
}

// The range of a CEL timestamp, 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, in Unix seconds.
const (
	minUnixSeconds = -62135596800
	maxUnixSeconds = 253402300799
)

// unixTime converts a count of units since the Unix epoch, an int or a double, to a timestamp.
// A double is split into whole units and a fraction before scaling, so an integral double gives
// exactly the timestamp the int would.
func unixTime(unit time.Duration) functions.UnaryOp {
	name := "unixTime"
	if unit == time.Millisecond {
		name = "unixMilliTime"
	}
	perSecond := int64(time.Second / unit)
	return func(v ref.Val) ref.Val {
		var units int64
		var frac float64
		switch n := v.(type) {
		case types.Int:
			units = int64(n)
		case types.Double:
			x := float64(n)
			// ±1e18 is far outside the timestamp range in either unit, and inside int64.
			if math.IsNaN(x) || x < -1e18 || x > 1e18 {
				return types.NewErr("%s: %v is outside the timestamp range", name, x)
			}
			whole := math.Floor(x)
			units, frac = int64(whole), x-whole
		default:
			return types.MaybeNoSuchOverloadErr(v)
		}
		sec, rem := units/perSecond, units%perSecond
		if rem < 0 {
			sec, rem = sec-1, rem+perSecond
		}
		if sec < minUnixSeconds || sec > maxUnixSeconds {
			return types.NewErr("%s: %v is outside the timestamp range", name, v.Value())
		}
		nsec := rem*int64(unit) + int64(math.Round(frac*float64(unit)))
		return types.Timestamp{Time: time.Unix(sec, nsec).UTC()}
	}
}

func parseTime(value, layout ref.Val) ref.Val {
	s, ok := value.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(value)
	}
	l, ok := layout.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(layout)
	}
	t, err := time.Parse(string(l), string(s))
	if err != nil {
		return types.NewErr("parseTime: %w", err)
	}
	if u := t.Unix(); u < minUnixSeconds || u > maxUnixSeconds {
		return types.NewErr("parseTime: %q is outside the timestamp range", string(s))
	}
	return types.Timestamp{Time: t.UTC()}
}

func trim(fn func(s, affix string) string) functions.BinaryOp {
	return func(str, affix ref.Val) ref.Val {
		s, ok := str.(types.String)
		if !ok {
			return types.MaybeNoSuchOverloadErr(str)
		}
		a, ok := affix.(types.String)
		if !ok {
			return types.MaybeNoSuchOverloadErr(affix)
		}
		return types.String(fn(string(s), string(a)))
	}
}
