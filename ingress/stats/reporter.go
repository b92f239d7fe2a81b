package stats

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"github.com/nats-io/nats.go/jetstream"
	"k8s.io/apimachinery/pkg/types"
)

// DefaultInterval is how often a Reporter puts its book into the bucket.
const DefaultInterval = 10 * time.Second

// putTimeout bounds one Flush.
const putTimeout = 5 * time.Second

// Conn is the NATS connection a Reporter writes through; *jetstream.Client of
// inlet.dev/inlet/ingress/jetstream is one.
type Conn interface {
	Connected() bool
	JetStream() jetstream.JetStream
}

// Reporter puts one ingress instance's Book into the bucket: every Interval while Run
// runs, and once more when Flush is called at shutdown. It is the only writer of the
// bucket, and the one that creates it (EnsureBucket, once per process); the operator
// only reads (Read) and removes (Remove).
type Reporter struct {
	// Book is what the instance counted.
	Book *Book
	// NATS is where the bucket is; nothing is put while it is disconnected.
	NATS Conn
	// Instance is this instance's name in the bucket, such as its pod's.
	Instance string
	// Served returns the SourceEnvironments served now, and false while there is no
	// configuration yet (then nothing is put).
	Served func() ([]types.NamespacedName, bool)
	// Interval is the time between two puts; DefaultInterval when zero.
	Interval time.Duration
	// Logger receives an error when putting fails, once per distinct error.
	Logger logr.Logger

	kv      jetstream.KeyValue
	lastErr string
}

// Run puts the counters every Interval until ctx is done. Run and Flush must not be
// called at the same time.
func (r *Reporter) Run(ctx context.Context) {
	t := time.NewTicker(cmpDuration(r.Interval, DefaultInterval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Flush(ctx)
		}
	}
}

// Flush puts this instance's counters for every SourceEnvironment served. Nothing is
// put while NATS is down or before the first configuration; an error is logged when it
// differs from the last one.
func (r *Reporter) Flush(ctx context.Context) {
	served, ok := r.Served()
	if !ok || !r.NATS.Connected() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, putTimeout)
	defer cancel()
	err := r.putAll(ctx, served)
	if msg := fmt.Sprint(err); err != nil && msg != r.lastErr {
		r.Logger.Error(err, "report counters", "bucket", Bucket)
	}
	r.lastErr = fmt.Sprint(err)
}

func (r *Reporter) putAll(ctx context.Context, served []types.NamespacedName) error {
	if r.kv == nil {
		kv, err := EnsureBucket(ctx, r.NATS.JetStream())
		if err != nil {
			return err
		}
		r.kv = kv
	}
	var errs []error
	for _, key := range served {
		errs = append(errs, Put(ctx, r.kv, key.Namespace, key.Name, r.Instance, r.Book.Report(key)))
	}
	return errors.Join(errs...)
}

func cmpDuration(d, fallback time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return fallback
}
