package v1alpha1

import (
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Provider defaults for signed-timestamp tolerance, from each provider's own library.
const (
	defaultTolerance       = 5 * time.Minute
	defaultWorkOSTolerance = 3 * time.Minute
)

// IdempotencyEnabled reports whether repeated deliveries are de-duplicated (default true).
func (s *SourceEnvironmentSpec) IdempotencyEnabled() bool {
	return s.Idempotency.Enabled == nil || *s.Idempotency.Enabled
}

// IdempotencyWindow is the duplicate window, 24h when unset.
func (s *SourceEnvironmentSpec) IdempotencyWindow() time.Duration {
	if w := s.Idempotency.Window; w != nil && w.Duration > 0 {
		return w.Duration
	}
	d, _ := time.ParseDuration(DefaultIdempotencyWindow)
	return d
}

// ActionStream is the stream actions are published to, INLET_ACTIONS when unset.
func (s *SourceEnvironmentSpec) ActionStream() string {
	if s.Publish.ActionStream != "" {
		return s.Publish.ActionStream
	}
	return DefaultActionStream
}

// LogStream is the stream logs are written to, INLET_LOGS when unset.
func (s *SourceEnvironmentSpec) LogStream() string {
	if s.Publish.LogStream != "" {
		return s.Publish.LogStream
	}
	return DefaultLogStream
}

// LogRetention is how long logs are kept, 168h when unset.
func (s *SourceEnvironmentSpec) LogRetention() time.Duration {
	if r := s.Publish.LogRetention; r != nil && r.Duration > 0 {
		return r.Duration
	}
	d, _ := time.ParseDuration(DefaultLogRetention)
	return d
}

// MaxBodySize is the largest accepted request body in bytes, 1 MiB when unset.
func (s *SourceEnvironmentSpec) MaxBodySize() int64 {
	if q := s.Ingress.MaxBodySize; q != nil && q.Value() > 0 {
		return q.Value()
	}
	q := resource.MustParse(DefaultMaxBodySize)
	return q.Value()
}

// SignatureTolerance is how far a signed timestamp may drift, the provider's own
// default when spec.tolerance is unset.
func (s *SourceSpec) SignatureTolerance() time.Duration {
	if s.Tolerance != nil && s.Tolerance.Duration > 0 {
		return s.Tolerance.Duration
	}
	if s.Type == SourceTypeWorkOS {
		return defaultWorkOSTolerance
	}
	return defaultTolerance
}

// UsesEndpointToken reports whether the source is reached only through an endpoint
// carrying an unguessable token, because its requests are not signed.
func (s *SourceSpec) UsesEndpointToken() bool {
	if s.Type == SourceTypeHTTP {
		return s.HTTP == nil || !s.HTTP.Verification.Type.Signs()
	}
	return !s.Type.Signs()
}
