// Package stats carries what each ingress instance received and published to the
// operator, through a JetStream key-value bucket, so that SourceEnvironment status can
// show counters without anyone writing to the API server per event.
//
// Each instance puts its running totals under <namespace>.<sourceEnvironment>.<instance>
// every few seconds; the bucket forgets an instance that stops reporting (TTL). The
// operator sums the live instances' reports when it refreshes status.
package stats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the key-value bucket reports are kept in.
const Bucket = "INLET_STATS"

// TTL is how long a report lives without being refreshed.
const TTL = 2 * time.Minute

// Report is one instance's running totals for one SourceEnvironment.
type Report struct {
	EventsReceived   int64            `json:"eventsReceived"`
	ActionsPublished int64            `json:"actionsPublished"`
	LastEventTime    time.Time        `json:"lastEventTime,omitzero"`
	Matched          map[string]int64 `json:"matched,omitempty"`
	// Since is when the instance started counting.
	Since time.Time `json:"since"`
}

// Add folds o into r: counters add, times take the latest.
func (r *Report) Add(o Report) {
	r.EventsReceived += o.EventsReceived
	r.ActionsPublished += o.ActionsPublished
	if o.LastEventTime.After(r.LastEventTime) {
		r.LastEventTime = o.LastEventTime
	}
	if r.Since.IsZero() || (!o.Since.IsZero() && o.Since.Before(r.Since)) {
		r.Since = o.Since
	}
	for m, n := range o.Matched {
		if r.Matched == nil {
			r.Matched = map[string]int64{}
		}
		r.Matched[m] += n
	}
}

// EnsureBucket creates the bucket, or returns it when it exists.
func EnsureBucket(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, Bucket)
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, err
	}
	kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: Bucket, Description: "inlet ingress counters, per instance", TTL: TTL, History: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("create key-value bucket %s: %w", Bucket, err)
	}
	return kv, nil
}

// key escapes names into key tokens: Kubernetes names may hold dots, never '_'.
func key(namespace, sourceEnvironment, instance string) string {
	esc := func(s string) string { return strings.ReplaceAll(s, ".", "_") }
	return esc(namespace) + "." + esc(sourceEnvironment) + "." + esc(instance)
}

// Put stores an instance's report.
func Put(ctx context.Context, kv jetstream.KeyValue, namespace, sourceEnvironment, instance string, r Report) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = kv.Put(ctx, key(namespace, sourceEnvironment, instance), data)
	return err
}

// Sum adds up the reports of every live instance of a SourceEnvironment. No report is
// not an error: the result is zero.
func Sum(ctx context.Context, kv jetstream.KeyValue, namespace, sourceEnvironment string) (Report, error) {
	var total Report
	lister, err := kv.ListKeysFiltered(ctx, key(namespace, sourceEnvironment, "*"))
	if err != nil {
		return total, err
	}
	for k := range lister.Keys() {
		entry, err := kv.Get(ctx, k)
		if err != nil {
			continue // expired between list and get
		}
		var r Report
		if json.Unmarshal(entry.Value(), &r) == nil {
			total.Add(r)
		}
	}
	return total, nil
}
