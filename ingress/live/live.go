// Package live runs an ingress server whose configuration is kept live: a feed (a
// watch of the API server, or of a folder of manifests) hands it each new snapshot,
// and it serves events on one listener and /metrics on another, reports its counters
// to the stats bucket, and shuts down gracefully. `inlet ingress` runs one per pod,
// `inlet cluster` and `inlet dev` one in-process.
package live

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/stats"
)

// Options configure an Ingress.
type Options struct {
	// NATS is where actions and logs are published, and counters reported.
	NATS *jetstream.Client
	// Instance is this instance's name in the stats bucket; when empty, counters are
	// not reported (inlet dev).
	Instance string
	// StatsInterval is the time between two counter reports; stats.DefaultInterval when
	// zero.
	StatsInterval time.Duration
	// Metrics, when set, is where /metrics is served; Run closes it.
	Metrics net.Listener
	// ShutdownDelay is how long Run keeps serving after its context is done, while the
	// instance is removed from its Service's endpoints.
	ShutdownDelay time.Duration
	// Drain is the longest wait for requests in flight once Run stops accepting.
	Drain time.Duration
	// AfterApply, when set, is called with each snapshot after it is served.
	AfterApply func(*config.Snapshot)
	// Logger receives the server's records and the runtime's own.
	Logger logr.Logger
	// PeersReachNATS, when set, tells readiness whether another instance reaches NATS
	// (ingress.Options.PeersReachNATS); ServicePeers and ingress.PeerChecker build one.
	PeersReachNATS func(ctx context.Context) (bool, error)
}

// Feed keeps the configuration live: it hands each new snapshot to apply until ctx
// is done, then returns nil. Returning earlier stops the ingress. watch.Watcher's Run
// and local.Folder's Watch are feeds.
type Feed func(ctx context.Context) error

// Ingress is an ingress.Server fed by a Feed, reporting its counters with a
// stats.Reporter. Create it with New.
type Ingress struct {
	opts     Options
	server   *ingress.Server
	reporter *stats.Reporter
	log      logr.Logger
}

// New returns an Ingress with no configuration yet: it answers 503 until Apply is
// called.
func New(opts Options) *Ingress {
	i := &Ingress{
		opts:   opts,
		server: ingress.NewServer(ingress.Options{Publisher: opts.NATS, Logger: opts.Logger, PeersReachNATS: opts.PeersReachNATS}),
		log:    opts.Logger,
	}
	if opts.Instance != "" {
		i.reporter = &stats.Reporter{
			Book:     i.server.Stats(),
			NATS:     opts.NATS,
			Instance: opts.Instance,
			Served:   i.served,
			Interval: opts.StatsInterval,
			Logger:   opts.Logger,
		}
	}
	return i
}

// Server is the server the Ingress runs.
func (i *Ingress) Server() *ingress.Server { return i.server }

// Apply serves a new snapshot. A Feed calls it, from one goroutine at a time.
func (i *Ingress) Apply(snap *config.Snapshot) {
	i.server.SetSnapshot(snap)
	if i.opts.AfterApply != nil {
		i.opts.AfterApply(snap)
	}
}

// served lists the SourceEnvironments of the snapshot served; false before the first.
func (i *Ingress) served() ([]types.NamespacedName, bool) {
	snap := i.server.Snapshot()
	if snap == nil {
		return nil, false
	}
	envs := snap.Environments()
	keys := make([]types.NamespacedName, 0, len(envs))
	for _, e := range envs {
		keys = append(keys, e.Key)
	}
	return keys, true
}

// Run serves on ln until ctx is done, keeping the configuration live with feed and
// the counters reported. After ctx is done it keeps serving for ShutdownDelay, then
// stops accepting, waits up to Drain for requests in flight, and puts the final
// counts. It stops early, with an error, when the feed stops or the listener fails.
func (i *Ingress) Run(ctx context.Context, feed Feed, ln net.Listener) error {
	if i.opts.Metrics != nil {
		defer i.opts.Metrics.Close()
	}
	bg := i.startBackground(ctx, feed)
	serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServing()
	serveErr := make(chan error, 1)
	go func() { serveErr <- i.server.ServeListener(serveCtx, ln, i.opts.Drain) }()
	if m := i.opts.Metrics; m != nil {
		go func() {
			if err := i.server.ServeMetrics(serveCtx, m); err != nil {
				i.log.Error(err, "serve metrics", "listen", m.Addr().String())
			}
		}()
	}

	i.waitForStop(ctx, bg, serveErr)
	stopServing()
	err := <-serveErr
	feedErr := bg.stop()
	if i.reporter != nil {
		i.reporter.Flush(context.Background()) // the final counts
	}
	i.log.Info("ingress stopped")
	return errors.Join(feedErr, err)
}

// background is what runs beside the server: the feed and the counter reports.
type background struct {
	cancel   context.CancelFunc
	feedErr  chan error
	reported chan struct{}
}

func (i *Ingress) startBackground(ctx context.Context, feed Feed) *background {
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b := &background{cancel: cancel, feedErr: make(chan error, 1), reported: make(chan struct{})}
	go func() { b.feedErr <- feed(bctx) }()
	go func() {
		defer close(b.reported)
		if i.reporter != nil {
			i.reporter.Run(bctx)
		}
	}()
	return b
}

// stop stops the feed and the reports and returns the feed's error.
func (b *background) stop() error {
	b.cancel()
	<-b.reported
	return <-b.feedErr
}

// waitForStop returns ShutdownDelay after ctx is done, or as soon as the feed stops or
// the server fails; what stopped them is left in its channel.
func (i *Ingress) waitForStop(ctx context.Context, bg *background, serveErr chan error) {
	select {
	case <-ctx.Done():
		i.log.Info("shutting down", "delay", i.opts.ShutdownDelay.String())
		i.server.CloseKeepAlives()
		time.Sleep(i.opts.ShutdownDelay)
	case err := <-bg.feedErr:
		bg.feedErr <- cmpErr(err, errors.New("watch stopped"))
	case err := <-serveErr:
		serveErr <- err
	}
}

// cmpErr returns err, or fallback when err is nil.
func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}
