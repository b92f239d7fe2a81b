package v1alpha1

// The defaulting policy, one for every field. Defaults that say how a value is read (a
// Source's verification and typing, a Secret reference's key) are in the schema
// (+kubebuilder:default), so that the stored object shows them. The operational
// settings of a SourceEnvironment (idempotency, streams, retention, limits) are left
// unset when the user does not set them and are defaulted by the accessors below, which
// every reader uses, so that a new default reaches existing objects with an upgrade.
// No field has both.

import (
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
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

// ActionPartitions is the number of streams actions are spread over: spec.publish.
// partitions, or def (the operator's default) when unset, and at least 1.
func (s *SourceEnvironmentSpec) ActionPartitions(def int32) int32 {
	if p := s.Publish.Partitions; p != nil {
		return max(*p, 1)
	}
	return max(def, 1)
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
