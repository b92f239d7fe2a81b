// Package celext is inlet's CEL: the one environment in which every expression in a Source or an
// EventMapping is compiled (by the operator, to validate it) and evaluated (by the ingress, for
// every event), the functions webhook work needs, and fast compile-once, evaluate-often programs.
//
// # Variables
//
// The variables are named as in Knock's custom sources, so a Knock dot-notation path such as
// body.data.object.customer is a CEL expression as written.
//
//	body        dyn                  the parsed JSON payload
//	headers     map(string, string)  the request headers, keyed by lower-case name:
//	                                 headers['stripe-signature']
//	rawBody     bytes                the payload exactly as received, for signature checks
//	preprocess  dyn                  what the source's preprocess expression returned
//	vars        map(string, string)  the per-environment variables, secrets among them:
//	                                 vars.webhookSecret or vars['webhook-secret']
//	event       dyn                  the normalised event: {type, user_id, data, event},
//	                                 where event is the original payload
//
// A JSON number is a double: body.amount == 100 and body.amount > 99 work as written (CEL
// compares numbers across types), and int(body.amount) makes an int. Reading a key the payload
// does not have is an error ("no such key: customer"); test for it with has(body.data.customer),
// or read it as an optional with body.?data.?customer.orValue('none').
//
// # Functions
//
// Besides the CEL standard library (size, contains, startsWith, endsWith, matches, int, string,
// timestamp, duration, has, all, exists, exists_one, map, filter, ...), expressions can use:
//
// Optional values: body.?data.?object, optional.of(x), optional.none(), .orValue(default),
// .hasValue(), .value(), and [?x] and {?'key': x} to leave out an absent element.
//
// Strings (cel-go ext.Strings): charAt, indexOf, lastIndexOf, lowerAscii, upperAscii, replace,
// split, substring, trim, join, reverse, format, strings.quote.
//
// Encoders (cel-go ext.Encoders): base64.encode, base64.decode, base64.encodeUrl,
// base64.decodeUrl, json.encode, json.parse, yaml.encode, yaml.parse.
//
// Lists (cel-go ext.Lists): slice, flatten, sort, sortBy, lists.range, reverse, distinct,
// hasOnly, hasAny, hasAll, hasExactly. Sets (ext.Sets): sets.contains, sets.equivalent, sets.intersects. Math
// (ext.Math): math.greatest, math.least, math.abs, math.ceil, math.floor, math.round, and more.
// Bindings (ext.Bindings): cel.bind(name, value, expr) to name a value used more than once.
//
// inlet's own functions (Library documents each with examples):
//
//	hmac.sha1(<bytes|string>, <bytes|string>) -> <bytes>     HMAC-SHA1 of data (2nd) under key (1st)
//	hmac.sha256(<bytes|string>, <bytes|string>) -> <bytes>   HMAC-SHA256
//	hmac.sha512(<bytes|string>, <bytes|string>) -> <bytes>   HMAC-SHA512
//	sha1(<bytes|string>) -> <bytes>                          SHA-1 digest
//	sha256(<bytes|string>) -> <bytes>                        SHA-256 digest
//	sha512(<bytes|string>) -> <bytes>                        SHA-512 digest
//	hex.encode(<bytes>) -> <string>                          lower-case hexadecimal
//	hex.decode(<string>) -> <bytes>                          error on bad hex
//	secureCompare(<string>, <string>) -> <bool>              constant-time equality
//	secureCompare(<bytes>, <bytes>) -> <bool>
//	unixTime(<int|double>) -> <timestamp>                    from seconds since the epoch
//	unixMilliTime(<int|double>) -> <timestamp>               from milliseconds since the epoch
//	parseTime(<string>, <string>) -> <timestamp>             with a Go layout, e.g. '2006-01-02'
//	<string>.trimPrefix(<string>) -> <string>                without a leading string
//	<string>.trimSuffix(<string>) -> <string>                without a trailing string
//
// For example, GitHub's signature check reads
//
//	secureCompare(headers['x-hub-signature-256'],
//	    'sha256=' + hex.encode(hmac.sha256(vars.githubSecret, rawBody)))
//
// # Limits
//
// Each evaluation of each expression may spend at most DefaultCostLimit cost units (about one
// per operation, 0.1 per byte hashed or scanned) and stops when the request's deadline passes;
// either ends the evaluation with an error for that expression alone.
//
// # Use from Go
//
// Compile an expression once with Compile(env, field, expr, want), where env comes from NewEnv,
// then evaluate it per request with Program.Eval, EvalBool, EvalString or EvalNative and a *Vars.
// Errors name the API field of the expression: a *CompileError carries the line and column, an
// *EvalError the cause.
package celext
