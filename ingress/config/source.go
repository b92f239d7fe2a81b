package config

import (
	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/provider"
)

// source compiles the Source of a SourceEnvironment with its provider (package
// ingress/provider): the verifier of the environment's signing secrets and the
// describer of its events.
func (b *builder) source(src *v1alpha1.Source, secrets []string, vars map[string]string) (provider.Compiled, error) {
	return provider.Compile(provider.Config{Source: src, Secrets: secrets, Vars: vars, CEL: b.env})
}

// CheckSource compiles a Source's CEL expressions and checks its verification settings
// as the ingress will, without its secrets. The error names the field; a
// *celext.CompileError also the position.
func CheckSource(src *v1alpha1.Source) error {
	return provider.Check(&src.Spec)
}
