// Package ingress is inlet's event data path: an HTTP server that takes events for any
// number of SourceEnvironments, verifies each against its sender's signature, types it,
// evaluates the EventMappings in CEL, and publishes the resulting actions to NATS
// JetStream, answering 2xx only once every action is acknowledged.
//
// Endpoints:
//
//	POST /e/{namespace}/{sourceEnvironment}           sources that sign their requests
//	POST /e/{namespace}/{sourceEnvironment}/{token}   sources that sign nothing
//	GET, HEAD on the same paths                      only where the Source's endpoint
//	                                                 handshake uses them (handshake.go)
//	GET  /healthz, /readyz
//	GET  /connected (whether this instance reaches NATS, for its peers' readiness)
//
// /metrics (Prometheus) is served by a handler of its own, [Server.MetricsHandler], on
// a port apart from the public one ([Server.ServeMetrics]), so that what is exposed to
// senders is the event endpoints alone.
//
// Answers follow one rule: 2xx only when stored; 503 with Retry-After only for faults a
// retry can fix; 4xx, or 2xx with the action marked failed, for faults it cannot. 200
// with a JSON summary once every action is stored (also when nothing matched), or has
// failed for good (a CEL error, an action JetStream refuses for good, such as one over
// NATS's max payload); 400 for a body that is not JSON or has no event type; 401 when
// verification fails; 404 for an unknown endpoint; 405 for a method other than POST
// (but a handshake's GET); a genuine endpoint handshake gets the answer its sender expects;
// 413 past the body limit; 429 with Retry-After past spec.ingress.rateLimit; 503 with
// Retry-After when JetStream cannot be reached or did not acknowledge in time, so the
// sender retries and nothing is lost.
package ingress

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/ratelimit"
	"inlet.dev/inlet/ingress/stats"
)

// Publisher stores messages durably; *jetstream.Client is the real one.
type Publisher interface {
	// PublishEvents publishes each event's messages (its actions) as one unit, all
	// or none, in order, and waits for the acknowledgement: one result per message.
	// It returns an error when any message was not acknowledged.
	PublishEvents(ctx context.Context, events []jetstream.Event) ([]jetstream.Result, error)
	// PublishAll publishes every message on its own (event log records) and waits
	// for its acknowledgement. It returns an error when any message was not
	// acknowledged.
	PublishAll(ctx context.Context, msgs []jetstream.Message) ([]jetstream.Result, error)
	// Connected reports whether the publisher can reach JetStream now.
	Connected() bool
}

// Options configure a Server. Zero values take the documented defaults.
type Options struct {
	// Publisher stores actions and logs. Required.
	Publisher Publisher
	// Logger receives structured logs; never secrets, signatures or tokens.
	Logger logr.Logger
	// Registerer receives the Prometheus metrics; a new registry when nil.
	Registerer prometheus.Registerer
	// Gatherer serves the metrics handler's /metrics; the registry above when nil.
	Gatherer prometheus.Gatherer
	// PublishTimeout bounds the wait for JetStream's acknowledgements (default 5s).
	PublishTimeout time.Duration
	// RetryAfter is the Retry-After sent with a 503 (default 5s).
	RetryAfter time.Duration
	// MaxEventsPerRequest bounds batches and NDJSON bodies (default 1000).
	MaxEventsPerRequest int
	// RefusedLogLimit bounds how many refused requests (401, 400, 413) are written to
	// the event log per SourceEnvironment, and how many requests for unknown endpoints
	// (404) are written to the pod's log, all of them together; default 2 a second with
	// bursts of 20 (DefaultRefusedLogLimit).
	RefusedLogLimit ratelimit.Limit
	// LogPayloads writes each accepted event's payload to the event log (default true
	// when nil).
	LogPayloads *bool
	// SettledEvents is how many events whose every action was stored are remembered,
	// so that a repeat of one within its idempotency window is answered without
	// evaluating the mappings or publishing (DefaultSettledEvents when 0; none when
	// negative).
	SettledEvents int
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// PeersReachNATS, when set, says whether another instance of this ingress (another
	// pod of its Deployment) reaches NATS now; see [Server.Ready]. PeerChecker builds
	// one from the peers' addresses.
	PeersReachNATS func(ctx context.Context) (bool, error)
}

// DefaultRefusedLogLimit is Options.RefusedLogLimit's default: enough to see why a
// sender is refused, too little for anonymous traffic to fill the log stream (with
// headers capped at 4 KiB, at most about 9 KB a second per SourceEnvironment).
var DefaultRefusedLogLimit = ratelimit.Limit{PerSecond: 2, Burst: 20}

// Server serves events from the current configuration snapshot, which can be swapped
// at any time without dropping requests.
type Server struct {
	opts Options
	log  logr.Logger
	// current is the configuration served, with the events settled under it.
	current  atomic.Pointer[served]
	metrics  *metrics
	stats    *stats.Book
	logs     *logWriter
	mux      *http.ServeMux
	gatherer prometheus.Gatherer
	// closing makes every answer close its connection, so that senders stop reusing
	// keep-alive connections to an instance that is about to stop (see CloseKeepAlives).
	closing atomic.Bool
	// limits are the request rate limits of the SourceEnvironments that have one.
	limits ratelimit.Set[types.NamespacedName]
	// natsReached says NATS was connected at a readiness check since the start.
	natsReached atomic.Bool
}

// NewServer returns a server with no configuration yet: it answers 503 to events and is
// not ready until SetSnapshot is called.
func NewServer(opts Options) *Server {
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = 5 * time.Second
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 5 * time.Second
	}
	if opts.MaxEventsPerRequest <= 0 {
		opts.MaxEventsPerRequest = 1000
	}
	if opts.SettledEvents == 0 {
		opts.SettledEvents = DefaultSettledEvents
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RefusedLogLimit.Unlimited() {
		opts.RefusedLogLimit = DefaultRefusedLogLimit
	}
	if opts.LogPayloads == nil {
		yes := true
		opts.LogPayloads = &yes
	}
	reg, gatherer := opts.Registerer, opts.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, gatherer = r, r
	}
	if gatherer == nil {
		gatherer = prometheus.DefaultGatherer
	}
	s := &Server{
		opts:     opts,
		log:      opts.Logger,
		metrics:  newMetrics(reg),
		stats:    stats.NewBook(opts.Now()),
		gatherer: gatherer,
	}
	s.logs = newLogWriter(opts.Publisher, s.log, s.metrics, opts.RefusedLogLimit, opts.Now(), logLinger)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/e/{namespace}/{name}", s.handleEvent)
	s.mux.HandleFunc("/e/{namespace}/{name}/{token}", s.handleEvent)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	s.mux.HandleFunc("GET /connected", s.handleConnected)
	return s
}

// SetSnapshot swaps the configuration atomically; requests already running finish
// with the snapshot they started with.
func (s *Server) SetSnapshot(snap *config.Snapshot) {
	s.current.Store(&served{snap: snap, settled: newSettledEvents(s.opts.SettledEvents)})
	keep := func(k types.NamespacedName) bool { return snap.Lookup(k) != nil }
	s.limits.Retain(keep)
	s.logs.prune(snap)
	s.metrics.snapshotProblems.Set(float64(len(snap.Problems)))
	s.metrics.snapshotBuilt.SetToCurrentTime()
}

// Snapshot returns the configuration being served, or nil before the first.
func (s *Server) Snapshot() *config.Snapshot {
	if c := s.current.Load(); c != nil {
		return c.snap
	}
	return nil
}

// Handler returns the HTTP handler serving events, /healthz and /readyz: what the
// public port serves. It does not serve /metrics.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.closing.Load() {
			w.Header().Set("Connection", "close")
		}
		s.mux.ServeHTTP(w, r)
	})
}

// CloseKeepAlives makes every later answer close its connection. An instance about to
// stop calls it when its shutdown delay begins: senders then open new connections,
// which go to the instances that stay, instead of reusing one that the shutdown would
// close under a request (a connection reset the sender would see).
func (s *Server) CloseKeepAlives() { s.closing.Store(true) }

// MetricsHandler returns the HTTP handler serving GET /metrics, and 404 for any other
// path.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
	return mux
}

// Stats returns the book of what each SourceEnvironment received and published since
// the server started, for a stats.Reporter to put into the bucket.
func (s *Server) Stats() *stats.Book { return s.stats }

// Ready reports whether the server should receive events: once its configuration is
// loaded and it has reached NATS since it started, and not while it alone cannot
// reach NATS.
//
// When it loses NATS, it asks its peers (Options.PeersReachNATS). If another instance
// reaches NATS, the fault is this instance's own (its network, its node): it reports
// not ready and leaves its Service, so that senders reach the instances that can
// store their events. If none does, or it has no way to ask, NATS is down for every
// instance: it stays ready and answers events 503 with Retry-After, as instances
// leaving their Service would turn that answer into connection errors at the sender's
// gateway. Nothing is lost either way. An instance that never reached NATS (wrong URL
// or credentials) stays out of the Service.
func (s *Server) Ready() error {
	if s.Snapshot() == nil {
		return errors.New("configuration not loaded yet")
	}
	if s.opts.Publisher.Connected() {
		s.natsReached.Store(true)
		return nil
	}
	if !s.natsReached.Load() {
		return errors.New("NATS not reached yet")
	}
	if s.opts.PeersReachNATS != nil {
		ctx, cancel := context.WithTimeout(context.Background(), peerCheckTimeout)
		defer cancel()
		if ok, err := s.opts.PeersReachNATS(ctx); err == nil && ok {
			return errors.New("NATS is not reachable from this instance while another instance reaches it")
		}
	}
	return nil
}

// peerCheckTimeout bounds Ready's question to the peers: within a readiness probe's
// usual one second timeout.
const peerCheckTimeout = 700 * time.Millisecond

// handleConnected answers GET /connected for the peers' readiness checks: 200 while
// this instance reaches NATS, 503 otherwise.
func (s *Server) handleConnected(w http.ResponseWriter, _ *http.Request) {
	if !s.opts.Publisher.Connected() {
		http.Error(w, "NATS not connected", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("connected"))
}

// PeerChecker returns an Options.PeersReachNATS that asks each address peers returns
// ("host:port" of another instance's public port) for GET /connected, all at once,
// and says whether one answered 200. An error means no peer could be asked.
func PeerChecker(peers func(ctx context.Context) ([]string, error)) func(ctx context.Context) (bool, error) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	return func(ctx context.Context) (bool, error) {
		addrs, err := peers(ctx)
		if err != nil || len(addrs) == 0 {
			return false, err
		}
		answers := make(chan bool, len(addrs))
		for _, addr := range addrs {
			go func() {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/connected", nil)
				if err != nil {
					answers <- false
					return
				}
				resp, err := client.Do(req)
				if err != nil {
					answers <- false
					return
				}
				_ = resp.Body.Close()
				answers <- resp.StatusCode == http.StatusOK
			}()
		}
		for range addrs {
			if <-answers {
				return true, nil
			}
		}
		return false, nil
	}
}

func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	if err := s.Ready(); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if !s.opts.Publisher.Connected() {
		_, _ = w.Write([]byte("ok; NATS is not connected: events are answered 503 with Retry-After until it is back"))
		return
	}
	_, _ = w.Write([]byte("ok"))
}

// Close stops the event log writer after writing what it holds, or when ctx ends.
// Call it when the handler is used without Serve; Serve does it itself.
func (s *Server) Close(ctx context.Context) { s.logs.close(ctx) }

// Serve listens on addr until ctx is done, then stops accepting connections and waits
// up to drain for in-flight requests to finish, so that every event already received
// is answered.
func (s *Server) Serve(ctx context.Context, addr string, drain time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.ServeListener(ctx, ln, drain)
}

// ServeListener is Serve on an existing listener.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener, drain time.Duration) error {
	return serveUntil(ctx, newHTTPServer(s.Handler()), ln, drain, s.logs.close)
}

// ServeMetrics serves the metrics handler on ln until ctx is done.
func (s *Server) ServeMetrics(ctx context.Context, ln net.Listener) error {
	return serveUntil(ctx, newHTTPServer(s.MetricsHandler()), ln, 5*time.Second, nil)
}

// serveUntil serves srv on ln until ctx is done, then shuts it down, waiting up to drain
// for requests in flight, and calls flush (if any) within the same time.
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener, drain time.Duration, flush func(context.Context)) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if flush != nil {
		flush(shutdownCtx)
	}
	if errors.Is(<-errc, http.ErrServerClosed) || err != nil {
		return err
	}
	return nil
}

// newHTTPServer returns an HTTP server for h with bounded reads, writes and headers.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}
