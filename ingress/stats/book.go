package stats

import (
	"maps"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Book keeps one ingress instance's running totals per SourceEnvironment, in memory:
// the data path records into it per event, and a Reporter puts it into the bucket every
// few seconds, so that the API server is never written per event. It is safe for
// concurrent use.
type Book struct {
	since time.Time

	mu     sync.Mutex
	totals map[types.NamespacedName]*Report
}

// NewBook returns an empty book whose reports count from since.
func NewBook(since time.Time) *Book {
	return &Book{since: since, totals: map[types.NamespacedName]*Report{}}
}

func (b *Book) entry(key types.NamespacedName) *Report {
	r := b.totals[key]
	if r == nil {
		r = &Report{Matched: map[string]int64{}, Since: b.since}
		b.totals[key] = r
	}
	return r
}

// Record counts events received and actions published for a SourceEnvironment, the
// events received at at.
func (b *Book) Record(key types.NamespacedName, at time.Time, events, published int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.entry(key)
	r.EventsReceived += int64(events)
	r.ActionsPublished += int64(published)
	if at.After(r.LastEventTime) {
		r.LastEventTime = at
	}
}

// Matched counts an event a SourceEnvironment's mapping accepted.
func (b *Book) Matched(key types.NamespacedName, mapping string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.entry(key).Matched[mapping]++
}

// Report returns a SourceEnvironment's running totals since the book was made; zero
// counts, since then, when nothing was recorded for it.
func (b *Book) Report(key types.NamespacedName) Report {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.totals[key]
	if !ok {
		return Report{Since: b.since}
	}
	c := *r
	c.Matched = maps.Clone(r.Matched)
	return c
}
