package stats

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"k8s.io/apimachinery/pkg/types"
)

// openBucket opens the bucket for reading or removing; nil, with no error, when no
// ingress has reported yet. Readers never create or change the bucket: that is the
// Reporter's (EnsureBucket).
func openBucket(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", Bucket, err)
	}
	return kv, nil
}

// Read returns a SourceEnvironment's totals since it was created: Sum on the bucket,
// zero when there is no bucket yet.
func Read(ctx context.Context, js jetstream.JetStream, namespace, sourceEnvironment string) (Report, error) {
	kv, err := openBucket(ctx, js)
	if kv == nil || err != nil {
		return Report{}, err
	}
	return Sum(ctx, kv, namespace, sourceEnvironment)
}

// Remove removes a SourceEnvironment's counters: Delete on the bucket, nothing when
// there is no bucket.
func Remove(ctx context.Context, js jetstream.JetStream, namespace, sourceEnvironment string) error {
	kv, err := openBucket(ctx, js)
	if kv == nil || err != nil {
		return err
	}
	return Delete(ctx, kv, namespace, sourceEnvironment)
}

// Cache keeps the last totals read for each SourceEnvironment, so that a reader asked
// for the same SourceEnvironment many times within a short while (once per
// EventMapping) reads the bucket once. It is safe for concurrent use.
type Cache struct {
	// MaxAge is how long a reading is reused.
	MaxAge time.Duration

	mu       sync.Mutex
	readings map[types.NamespacedName]reading
}

type reading struct {
	report Report
	at     time.Time
}

// Get returns the reading of key taken less than MaxAge before now.
func (c *Cache) Get(key types.NamespacedName, now time.Time) (Report, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.readings[key]
	if !ok || now.Sub(r.at) >= c.MaxAge {
		return Report{}, false
	}
	return r.report, true
}

// Put remembers a reading of key taken at now, and forgets the readings too old to be
// reused, such as those of deleted SourceEnvironments.
func (c *Cache) Put(key types.NamespacedName, r Report, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readings == nil {
		c.readings = map[types.NamespacedName]reading{}
	}
	for k, old := range c.readings {
		if now.Sub(old.at) >= c.MaxAge {
			delete(c.readings, k)
		}
	}
	c.readings[key] = reading{report: r, at: now}
}
