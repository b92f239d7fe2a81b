package controllers

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/ingress/stats"
)

// reportCache keeps the last counters read for each SourceEnvironment, so that its
// EventMappings reuse the SourceEnvironment reconciler's reading instead of summing the
// bucket once each. It is safe for concurrent use.
type reportCache struct {
	mu      sync.Mutex
	reports map[types.NamespacedName]cachedReport
}

type cachedReport struct {
	report stats.Report
	at     time.Time
}

func newReportCache() *reportCache {
	return &reportCache{reports: map[types.NamespacedName]cachedReport{}}
}

// put remembers a reading taken at now.
func (c *reportCache) put(key types.NamespacedName, r stats.Report, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reports[key] = cachedReport{report: r, at: now}
}

// get returns the reading of key when it is younger than maxAge.
func (c *reportCache) get(key types.NamespacedName, now time.Time, maxAge time.Duration) (stats.Report, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.reports[key]
	if !ok || now.Sub(r.at) >= maxAge {
		return stats.Report{}, false
	}
	return r.report, true
}

// forget drops a deleted SourceEnvironment's reading.
func (c *reportCache) forget(key types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.reports, key)
}
