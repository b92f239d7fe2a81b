package config

import (
	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/ratelimit"
)

// rateLimit compiles spec.ingress.rateLimit: unlimited when unset, a burst of twice the
// rate unless given.
func rateLimit(spec *v1alpha1.RateLimitSpec) ratelimit.Limit {
	if spec == nil || spec.RequestsPerSecond <= 0 {
		return ratelimit.Limit{}
	}
	l := ratelimit.Limit{PerSecond: float64(spec.RequestsPerSecond), Burst: 2 * int(spec.RequestsPerSecond)}
	if spec.Burst != nil && *spec.Burst > 0 {
		l.Burst = int(*spec.Burst)
	}
	return l
}
