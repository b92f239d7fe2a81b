// Package ratelimit is the token buckets the ingress bounds hostile traffic with: the
// requests a SourceEnvironment accepts (spec.ingress.rateLimit) and the refused
// requests it writes to the event log.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Limit is a sustained rate with a burst: a bucket of Burst tokens, refilled at
// PerSecond tokens a second. The zero Limit allows everything.
type Limit struct {
	// PerSecond is the sustained rate.
	PerSecond float64
	// Burst is how many may pass at once; at least 1 when PerSecond is set.
	Burst int
}

// Unlimited reports whether the limit allows everything.
func (l Limit) Unlimited() bool { return l.PerSecond <= 0 }

// Bucket is one token bucket. It is safe for concurrent use.
type Bucket struct {
	mu     sync.Mutex
	limit  Limit
	tokens float64
	last   time.Time
}

// NewBucket returns a full bucket.
func NewBucket(l Limit, now time.Time) *Bucket {
	l.Burst = max(l.Burst, 1)
	return &Bucket{limit: l, tokens: float64(l.Burst), last: now}
}

// Allow takes one token at now. When there is none it returns false and how long until
// there is one.
func (b *Bucket) Allow(now time.Time) (bool, time.Duration) {
	if b == nil || b.limit.Unlimited() {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(float64(b.limit.Burst), b.tokens+elapsed.Seconds()*b.limit.PerSecond)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / b.limit.PerSecond * float64(time.Second))
	return false, wait
}

// Set is one bucket per key, each with its own limit. It is safe for concurrent use.
type Set[K comparable] struct {
	mu      sync.Mutex
	buckets map[K]*Bucket
}

// Allow takes one token from key's bucket, creating it full (or anew when the limit
// changed).
func (s *Set[K]) Allow(key K, l Limit, now time.Time) (bool, time.Duration) {
	if l.Unlimited() {
		return true, 0
	}
	s.mu.Lock()
	b := s.buckets[key]
	if b == nil || b.limit.PerSecond != l.PerSecond || b.limit.Burst != max(l.Burst, 1) {
		if s.buckets == nil {
			s.buckets = map[K]*Bucket{}
		}
		b = NewBucket(l, now)
		s.buckets[key] = b
	}
	s.mu.Unlock()
	return b.Allow(now)
}

// Retain drops the buckets of the keys keep rejects, so that the set holds only keys
// still configured.
func (s *Set[K]) Retain(keep func(K) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.buckets {
		if !keep(k) {
			delete(s.buckets, k)
		}
	}
}

// Len is the number of buckets held.
func (s *Set[K]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buckets)
}
