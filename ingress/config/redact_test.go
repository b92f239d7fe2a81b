package config

import (
	"testing"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/ratelimit"
)

func TestRedactionFindsSecretsInAnyHeader(t *testing.T) {
	src := &v1alpha1.Source{Spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeCensus, HeaderAuth: &v1alpha1.HeaderAuth{Scheme: v1alpha1.HeaderAuthBasic}}}
	r := redaction(src, []string{"user:pass-word"}, "var-secret", "")
	for value, want := range map[string]bool{
		"x var-secret y":       true,
		"pass-word":            true,
		"dXNlcjpwYXNzLXdvcmQ=": true,
		"harmless":             false,
		"":                     false,
	} {
		if got := r.Header("x-anything", value); got != want {
			t.Errorf("Header(x-anything, %q) = %v, want %v", value, got, want)
		}
	}
	if !r.Header("authorization", "Basic whatever") {
		t.Error("authorization not redacted for basic auth")
	}
}

func TestRateLimit(t *testing.T) {
	burst := int32(7)
	tests := map[string]struct {
		spec *v1alpha1.RateLimitSpec
		want ratelimit.Limit
	}{
		"unset":         {nil, ratelimit.Limit{}},
		"default burst": {&v1alpha1.RateLimitSpec{RequestsPerSecond: 10}, ratelimit.Limit{PerSecond: 10, Burst: 20}},
		"burst":         {&v1alpha1.RateLimitSpec{RequestsPerSecond: 10, Burst: &burst}, ratelimit.Limit{PerSecond: 10, Burst: 7}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := rateLimit(tc.spec); got != tc.want {
				t.Errorf("rateLimit = %+v, want %+v", got, tc.want)
			}
		})
	}
}
