package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/go-logr/logr"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/stats"
	"inlet.dev/inlet/ingress/watch"
)

// statsInterval is how often an ingress puts its counters into the stats bucket.
const statsInterval = 10 * time.Second

// natsOutageMessage is what the ingress logs, at error level, while NATS cannot be
// reached: at the first failed attempt, then every 30s.
const natsOutageMessage = "cannot reach NATS; answering events 503 until it is back"

type ingressOptions struct {
	namespace         string
	sourceEnvironment string
	listen            string
	metricsListen     string
	natsURL           string
	natsCreds         string
	kubeconfig        string
	instance          string
	drain             time.Duration
	shutdownDelay     time.Duration
	verbose           bool
}

func newIngressCommand() *cobra.Command {
	o := ingressOptions{}
	cmd := &cobra.Command{
		Use:   "ingress",
		Short: "Serve SourceEnvironments' endpoints, configured live from the API server",
		Long: `ingress is what the operator runs in each ingress pod. It watches the Sources,
SourceEnvironments and EventMappings of a namespace (and the Secrets they name) through
the API server, compiles them whenever they change, and serves the endpoints with
/healthz and /readyz on --listen, the port senders reach. Prometheus metrics are on
another port, --metrics-listen, at /metrics, so that they are not exposed with the
endpoints. It starts while NATS is unreachable and reports not ready (/readyz says
why) until NATS and the configuration are both there; while NATS cannot be reached it
logs so at error level, at once and every 30s, and answers events 503. On SIGTERM it
keeps serving for --shutdown-delay while the pod leaves the Service, then stops
accepting, answers the requests in flight and flushes its logs.`,
		Example: `  inlet ingress --namespace default --source-environment stripe-production --nats-url nats://nats.nats:4222
  inlet ingress --kubeconfig .inlet/kubeconfig --namespace default --listen 127.0.0.1:8080 --metrics-listen 127.0.0.1:9090`,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context()) },
	}
	host, _ := os.Hostname()
	f := cmd.Flags()
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace whose resources are served (required)")
	f.StringVar(&o.sourceEnvironment, "source-environment", "", "serve only this SourceEnvironment; all of the namespace when empty")
	f.StringVar(&o.listen, "listen", ":8080", "address for events, /healthz and /readyz")
	f.StringVar(&o.metricsListen, "metrics-listen", ":9090", "address for /metrics; 0 or empty turns metrics off")
	f.StringVar(&o.natsURL, "nats-url", "nats://127.0.0.1:4222", "the NATS server to publish to")
	f.StringVar(&o.natsCreds, "nats-creds", "", "NATS credentials file")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file; KUBECONFIG, the in-cluster service account or ~/.kube/config when empty")
	f.StringVar(&o.instance, "instance", envOr("POD_NAME", host), "this instance's name in the stats bucket")
	f.DurationVar(&o.drain, "drain", 10*time.Second, "longest wait for requests in flight at shutdown")
	f.DurationVar(&o.shutdownDelay, "shutdown-delay", 5*time.Second, "time to keep serving after SIGTERM, while the pod is removed from the Service's endpoints")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log in human-readable form, with debug detail")
	_ = cmd.MarkFlagRequired("namespace")
	return cmd
}

func (o *ingressOptions) run(ctx context.Context) error {
	ingress.TuneRuntime()
	log := newLogger(o.verbose).WithValues("instance", o.instance)
	useLogger(log)
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		return err
	}
	opts := []jetstream.Option{
		jetstream.WithName("inlet-ingress " + o.instance),
		jetstream.WithBackgroundConnect(),
		jetstream.WithLogger(slog.New(logr.ToSlogHandler(log.WithName("nats")))),
		jetstream.WithOutageMessage(natsOutageMessage),
	}
	if o.natsCreds != "" {
		opts = append(opts, jetstream.WithCredentialsFile(o.natsCreds))
	}
	nc, err := jetstream.Connect(ctx, o.natsURL, opts...)
	if err != nil {
		return err
	}
	defer nc.Close()
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	li := newLiveIngress(nc, o.instance, log)
	if li.metrics, err = listenMetrics(o.metricsListen); err != nil {
		_ = ln.Close()
		return err
	}
	metricsAddr := "off"
	if li.metrics != nil {
		metricsAddr = li.metrics.Addr().String()
	}
	log.Info("ingress starting", "listen", ln.Addr().String(), "metrics", metricsAddr, "namespace", o.namespace,
		"sourceEnvironment", o.sourceEnvironment, "nats", redactURL(o.natsURL))
	return li.run(ctx, cfg, watch.Options{Namespace: o.namespace, SourceEnvironment: o.sourceEnvironment}, ln, o.shutdownDelay, o.drain)
}

// liveIngress is an ingress.Server fed by a watch.Watcher, putting its counters into
// the stats bucket. `inlet ingress` runs one per pod; `inlet cluster` one in-process.
type liveIngress struct {
	server   *ingress.Server
	nats     *jetstream.Client
	instance string
	since    time.Time
	log      logr.Logger
	// afterApply, when set, is called with each snapshot after it is served.
	afterApply func(*config.Snapshot)
	// metrics, when set, is where /metrics is served; run closes it.
	metrics net.Listener

	kv      natsjs.KeyValue
	lastErr string
}

func newLiveIngress(nc *jetstream.Client, instance string, log logr.Logger) *liveIngress {
	return &liveIngress{
		server:   ingress.NewServer(ingress.Options{Publisher: nc, Logger: log}),
		nats:     nc,
		instance: instance,
		since:    time.Now(),
		log:      log,
	}
}

// run serves on ln until ctx is done, keeping the configuration live and the counters
// reported. After ctx is done it keeps serving for delay, then stops accepting and waits
// up to drain for requests in flight. It stops early, with an error, when the watch
// cannot start or the listener fails.
func (l *liveIngress) run(ctx context.Context, cfg *rest.Config, wopts watch.Options, ln net.Listener, delay, drain time.Duration) error {
	if l.metrics != nil {
		defer l.metrics.Close()
	}
	wopts.Logger = l.log.WithName("watch")
	w, err := watch.New(cfg, wopts, l.apply)
	if err != nil {
		return err
	}
	bg := l.startBackground(ctx, w)
	serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServing()
	serveErr := make(chan error, 1)
	go func() { serveErr <- l.server.ServeListener(serveCtx, ln, drain) }()
	if l.metrics != nil {
		go func() {
			if err := l.server.ServeMetrics(serveCtx, l.metrics); err != nil {
				l.log.Error(err, "serve metrics", "listen", l.metrics.Addr().String())
			}
		}()
	}

	l.waitForStop(ctx, delay, bg, serveErr)
	stopServing()
	err = <-serveErr
	watchErr := bg.stop()
	l.putStats(context.Background()) // the final counts
	l.log.Info("ingress stopped")
	return errors.Join(watchErr, err)
}

// background is what runs beside the server: the watch and the counter reports.
type background struct {
	cancel   context.CancelFunc
	watchErr chan error
	reported chan struct{}
}

func (l *liveIngress) startBackground(ctx context.Context, w *watch.Watcher) *background {
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b := &background{cancel: cancel, watchErr: make(chan error, 1), reported: make(chan struct{})}
	go func() { b.watchErr <- w.Run(bctx) }()
	go func() { defer close(b.reported); l.reportStats(bctx) }()
	return b
}

// stop stops the watch and the reports and returns the watch's error.
func (b *background) stop() error {
	b.cancel()
	<-b.reported
	return <-b.watchErr
}

// waitForStop returns delay after ctx is done, or as soon as the watch stops or the
// server fails; what stopped them is left in its channel.
func (l *liveIngress) waitForStop(ctx context.Context, delay time.Duration, bg *background, serveErr chan error) {
	select {
	case <-ctx.Done():
		l.log.Info("shutting down", "delay", delay.String())
		l.server.CloseKeepAlives()
		time.Sleep(delay)
	case err := <-bg.watchErr:
		bg.watchErr <- cmpErr(err, errors.New("watch stopped"))
	case err := <-serveErr:
		serveErr <- err
	}
}

// apply serves a new snapshot.
func (l *liveIngress) apply(snap *config.Snapshot) {
	l.server.SetSnapshot(snap)
	if l.afterApply != nil {
		l.afterApply(snap)
	}
}

// reportStats puts the counters every statsInterval until ctx is done.
func (l *liveIngress) reportStats(ctx context.Context) {
	t := time.NewTicker(statsInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.putStats(ctx)
		}
	}
}

// putStats puts this instance's counters for every SourceEnvironment served. Nothing
// is put while NATS is down; an error is logged when it differs from the last one.
func (l *liveIngress) putStats(ctx context.Context) {
	snap := l.server.Snapshot()
	if snap == nil || !l.nats.Connected() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := l.putAll(ctx)
	if msg := fmt.Sprint(err); err != nil && msg != l.lastErr {
		l.log.Error(err, "report counters", "bucket", stats.Bucket)
	}
	l.lastErr = fmt.Sprint(err)
}

func (l *liveIngress) putAll(ctx context.Context) error {
	if l.kv == nil {
		kv, err := stats.EnsureBucket(ctx, l.nats.JetStream())
		if err != nil {
			return err
		}
		l.kv = kv
	}
	all := l.server.Stats()
	var errs []error
	for _, e := range l.server.Snapshot().Environments() {
		s := all[e.Key.String()]
		r := stats.Report{
			EventsReceived:   s.EventsReceived,
			ActionsPublished: s.ActionsPublished,
			LastEventTime:    s.LastEventTime,
			Matched:          s.Matched,
			Since:            l.since,
		}
		errs = append(errs, stats.Put(ctx, l.kv, e.Key.Namespace, e.Key.Name, l.instance, r))
	}
	return errors.Join(errs...)
}

// cmpErr returns err, or fallback when err is nil.
func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}
