// Package stats carries what the ingress instances of each SourceEnvironment received
// and published to the operator, through a JetStream key-value bucket, so that
// SourceEnvironment and EventMapping status can show counters without anyone writing to
// the API server per event.
//
// One key per SourceEnvironment, <namespace>.<sourceEnvironment>, holds its totals
// since it was created, and the last report each instance folded in. Every few seconds
// each instance calls Put with its running totals; Put adds what grew since that
// instance's previous report to the totals, with a compare-and-set on the key's
// revision so that instances reporting at once never lose each other's counts. The
// totals therefore never go backwards when instances are replaced, rolled or scaled:
// what a departed instance counted stays counted. The operator reads them with Sum and
// removes them with Delete when the SourceEnvironment is deleted.
package stats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the key-value bucket the counters are kept in.
const Bucket = "INLET_STATS"

// InstanceMemory is how long the totals remember an instance that stopped reporting.
// An instance's report is folded in as the growth since its previous one; an instance
// forgotten (one cut off from NATS for longer than this) and then heard from again has
// its running totals counted in full once more.
const InstanceMemory = time.Hour

// refreshSeen is how often an instance whose counts did not change still writes, so
// that it is not forgotten while alive.
const refreshSeen = InstanceMemory / 10

// maxAttempts bounds the compare-and-set retries of one Put; every attempt reads the
// key again after a random pause, so it fails only when other instances keep winning.
const maxAttempts = 20

// Report is what was received and published: one instance's running totals (Put), or
// a SourceEnvironment's totals (Sum).
type Report struct {
	EventsReceived   int64            `json:"eventsReceived"`
	ActionsPublished int64            `json:"actionsPublished"`
	LastEventTime    time.Time        `json:"lastEventTime,omitzero"`
	Matched          map[string]int64 `json:"matched,omitempty"`
	// Since is when counting started: the instance's start in Put, the first
	// instance's in Sum.
	Since time.Time `json:"since"`
}

// Add folds o into r: counters add, times take the latest, Since the earliest.
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

// growth is what cur counted beyond prev, counter by counter and never below zero; the
// times are cur's.
func growth(prev, cur Report) Report {
	g := Report{
		EventsReceived:   max(cur.EventsReceived-prev.EventsReceived, 0),
		ActionsPublished: max(cur.ActionsPublished-prev.ActionsPublished, 0),
		LastEventTime:    cur.LastEventTime,
		Since:            cur.Since,
	}
	for m, n := range cur.Matched {
		if d := n - prev.Matched[m]; d > 0 {
			if g.Matched == nil {
				g.Matched = map[string]int64{}
			}
			g.Matched[m] = d
		}
	}
	return g
}

// record is the value under a SourceEnvironment's key.
type record struct {
	// Totals are the counters since the SourceEnvironment was created.
	Totals Report `json:"totals"`
	// Instances are the last report folded in from each instance, by name.
	Instances map[string]mark `json:"instances,omitempty"`
}

// mark is an instance's last report folded in, and when it was.
type mark struct {
	Report
	Seen time.Time `json:"seen"`
}

// fold adds an instance's running totals r to the record at now, and forgets the
// instances not heard from for InstanceMemory. It reports whether the record must be
// written: something grew, an instance was forgotten, or this instance's mark is due
// for a refresh.
func (rec *record) fold(instance string, r Report, now time.Time) bool {
	if rec.Instances == nil {
		rec.Instances = map[string]mark{}
	}
	write := false
	for name, m := range rec.Instances {
		if name != instance && now.Sub(m.Seen) > InstanceMemory {
			delete(rec.Instances, name)
			write = true
		}
	}
	prev, known := rec.Instances[instance]
	switch {
	case known && r.Since.Before(prev.Since):
		// A late report of an earlier run of this instance: already superseded.
		return write
	case known && r.Since.Equal(prev.Since):
		g := growth(prev.Report, r)
		if g.EventsReceived == 0 && g.ActionsPublished == 0 && len(g.Matched) == 0 &&
			!r.LastEventTime.After(rec.Totals.LastEventTime) && now.Sub(prev.Seen) < refreshSeen {
			return write
		}
		rec.Totals.Add(g)
	default:
		// A new instance, or this instance started again under the same name: all it
		// counted is new.
		rec.Totals.Add(r)
	}
	m := mark{Report: r, Seen: now}
	m.Matched = maps.Clone(r.Matched)
	rec.Instances[instance] = m
	return true
}

// EnsureBucket creates the bucket, or returns it when it exists. A bucket made by an
// earlier version, whose keys expired, is changed to keep its keys.
func EnsureBucket(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, Bucket)
	switch {
	case err == nil:
		st, err := kv.Status(ctx)
		if err != nil {
			return nil, fmt.Errorf("read key-value bucket %s: %w", Bucket, err)
		}
		if st.TTL() == 0 {
			return kv, nil
		}
	case !errors.Is(err, jetstream.ErrBucketNotFound):
		return nil, err
	}
	kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "inlet ingress counters, per SourceEnvironment",
		History:     1,
	})
	if err != nil {
		return nil, fmt.Errorf("create key-value bucket %s: %w", Bucket, err)
	}
	return kv, nil
}

// esc escapes a name into a key token: Kubernetes names may hold dots, never '_'.
func esc(s string) string { return strings.ReplaceAll(s, ".", "_") }

// key is the key of a SourceEnvironment's counters.
func key(namespace, sourceEnvironment string) string {
	return esc(namespace) + "." + esc(sourceEnvironment)
}

// load reads a SourceEnvironment's record and its revision; revision 0 when there is
// none.
func load(ctx context.Context, kv jetstream.KeyValue, k string) (record, uint64, error) {
	var rec record
	entry, err := kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return rec, 0, nil
	}
	if err != nil {
		return rec, 0, fmt.Errorf("get %s: %w", k, err)
	}
	if err := json.Unmarshal(entry.Value(), &rec); err != nil {
		// Unreadable (not written by this version): start over rather than fail forever.
		return record{}, entry.Revision(), nil
	}
	return rec, entry.Revision(), nil
}

// Put folds an instance's running totals r (its counters since r.Since, when it
// started) into its SourceEnvironment's totals: only what grew since the instance's
// previous Put is added. Calls of several instances may race; each is retried on a
// revision conflict.
func Put(ctx context.Context, kv jetstream.KeyValue, namespace, sourceEnvironment, instance string, r Report) error {
	return put(ctx, kv, namespace, sourceEnvironment, instance, r, time.Now())
}

func put(ctx context.Context, kv jetstream.KeyValue, namespace, sourceEnvironment, instance string, r Report, now time.Time) error {
	k := key(namespace, sourceEnvironment)
	for attempt := range maxAttempts {
		if attempt > 0 {
			// Another instance wrote first: back off a little, at random, and read again.
			select {
			case <-ctx.Done():
				return fmt.Errorf("put %s: %w", k, ctx.Err())
			case <-time.After(rand.N(time.Duration(attempt) * 10 * time.Millisecond)):
			}
		}
		rec, rev, err := load(ctx, kv, k)
		if err != nil {
			return err
		}
		if !rec.fold(instance, r, now) {
			return nil
		}
		data, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if rev == 0 {
			_, err = kv.Create(ctx, k, data)
		} else {
			_, err = kv.Update(ctx, k, data, rev)
		}
		if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue
		}
		if err != nil {
			return fmt.Errorf("put %s: %w", k, err)
		}
		return nil
	}
	return fmt.Errorf("put %s: still conflicting after %d attempts", k, maxAttempts)
}

// Sum returns a SourceEnvironment's totals since it was created. No report yet is not
// an error: the result is zero.
func Sum(ctx context.Context, kv jetstream.KeyValue, namespace, sourceEnvironment string) (Report, error) {
	rec, _, err := load(ctx, kv, key(namespace, sourceEnvironment))
	return rec.Totals, err
}

// Delete removes a SourceEnvironment's counters, and any an earlier version left per
// instance under <namespace>.<sourceEnvironment>.<instance>.
func Delete(ctx context.Context, kv jetstream.KeyValue, namespace, sourceEnvironment string) error {
	k := key(namespace, sourceEnvironment)
	var errs []error
	if err := kv.Purge(ctx, k); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		errs = append(errs, fmt.Errorf("purge %s: %w", k, err))
	}
	lister, err := kv.ListKeysFiltered(ctx, k+".*")
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list keys under %s: %w", k, err))...)
	}
	for old := range lister.Keys() {
		if err := kv.Purge(ctx, old); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			errs = append(errs, fmt.Errorf("purge %s: %w", old, err))
		}
	}
	return errors.Join(errs...)
}
