package celext

import (
	"fmt"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"
)

// Names of the variables every expression can read; see the package documentation.
const (
	VarBody       = "body"
	VarHeaders    = "headers"
	VarRawBody    = "rawBody"
	VarPreprocess = "preprocess"
	VarVars       = "vars"
	VarEvent      = "event"
)

// NewEnv returns the CEL environment that every inlet expression is compiled against: the
// operator compiles with it to validate EventMappings and Sources, the ingress to run them, so
// an expression the operator accepts is one the ingress can run.
//
// The environment holds the CEL standard library; optional syntax (body.?data.?object,
// .orValue()); cel-go's strings, encoders (base64), lists, sets, math and bindings (cel.bind)
// extensions; this package's Library; cross-type numeric comparisons (a JSON number is a double,
// so body.amount > 100 must work); compile-time checks of literal durations, timestamps and
// regular expressions; and the variables body, headers, rawBody, preprocess, vars and event.
//
// Building the environment is expensive, so it is built once per process: every call returns
// the same *cel.Env (safe for concurrent use) or the same error.
func NewEnv() (*cel.Env, error) {
	return sharedEnv()
}

var sharedEnv = sync.OnceValues(func() (*cel.Env, error) {
	env, err := cel.NewEnv(
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true),
		ext.Strings(),
		ext.Encoders(),
		ext.Lists(),
		ext.Sets(),
		ext.Math(),
		ext.Bindings(),
		Library(),
		cel.ASTValidators(
			cel.ValidateDurationLiterals(),
			cel.ValidateTimestampLiterals(),
			cel.ValidateRegexLiterals(),
		),
		cel.VariableWithDoc(VarBody, cel.DynType,
			"the parsed JSON payload"),
		cel.VariableWithDoc(VarHeaders, cel.MapType(cel.StringType, cel.StringType),
			"the request headers, keyed by lower-case name"),
		cel.VariableWithDoc(VarRawBody, cel.BytesType,
			"the payload exactly as received, for signature checks"),
		cel.VariableWithDoc(VarPreprocess, cel.DynType,
			"what the source's preprocess expression returned"),
		cel.VariableWithDoc(VarVars, cel.MapType(cel.StringType, cel.StringType),
			"the per-environment variables, secrets among them"),
		cel.VariableWithDoc(VarEvent, cel.DynType,
			"the normalised event {type, user_id, data, event}"),
	)
	if err != nil {
		return nil, fmt.Errorf("build CEL environment: %w", err)
	}
	return env, nil
})
