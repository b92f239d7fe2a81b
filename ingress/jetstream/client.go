package jetstream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Client is a connection to NATS with a JetStream context. It reconnects
// forever, with backoff, after the connection is lost. A Client is safe for
// concurrent use.
type Client struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	log *slog.Logger
	// bulk, when set, is the connection best-effort publishes go over
	// (WithBulkConnection).
	bulk *nats.Conn

	mu        sync.Mutex
	down      chan struct{} // closed while the connection is down
	isDown    bool
	connected chan struct{} // closed once the first connection is made
	firstOnce sync.Once

	outage outage
	// noAtomicSubjects maps a subject whose stream refused an atomic batch to
	// when to try one again (see noAtomic).
	noAtomicSubjects sync.Map
}

// outage is what the client knows of the time the server cannot be reached, to log
// it once at the first failed attempt, then every outage.every, and once at the end.
// Its fields are guarded by Client.mu.
type outage struct {
	server  string        // the server URLs, redacted
	message string        // logged at error level while the server cannot be reached
	every   time.Duration // between two of those logs
	since   time.Time     // when the connection was lost or the first attempt began; zero while up
	lastErr error         // the last failed attempt's error
	logged  bool          // whether this outage was logged
	timer   *time.Timer   // the next periodic log
	conn    *nats.Conn    // set by the first callback, which may run before Connect returns
	closed  bool
}

// Option configures [Connect].
type Option func(*options)

type options struct {
	name        string
	credentials string
	inProcess   nats.InProcessConnProvider
	log         *slog.Logger
	backoffMin  time.Duration
	backoffMax  time.Duration
	ackTimeout  time.Duration
	maxPending  int
	background  bool
	flushTime   time.Duration
	outageMsg   string
	outageEvery time.Duration
	bulk        bool
	extra       []nats.Option
}

// Defaults of the options of [Connect].
const (
	// DefaultReconnectMin is the first wait before a reconnect attempt.
	DefaultReconnectMin = 100 * time.Millisecond
	// DefaultReconnectMax is the longest wait between reconnect attempts.
	DefaultReconnectMax = 5 * time.Second
	// DefaultAckTimeout is how long an unanswered publish is remembered
	// before the client forgets it. It bounds the memory held for publishes
	// whose caller stopped waiting; callers wait no longer than their ctx.
	DefaultAckTimeout = 30 * time.Second
	// DefaultMaxPending is the number of publishes that may await their ack
	// at one time, over all callers; past it a publish waits for a free slot
	// until its ctx is done.
	DefaultMaxPending = 4096
	// DefaultOutageLogInterval is how often an outage is logged again while
	// the server stays unreachable.
	DefaultOutageLogInterval = 30 * time.Second
	// DefaultOutageMessage is the message logged while the server cannot be
	// reached.
	DefaultOutageMessage = "cannot reach NATS"
)

// WithName sets the connection name shown by the server's monitoring.
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithCredentialsFile authenticates with a NATS credentials file (a user JWT
// and its nkey seed). The file's content is never logged.
func WithCredentialsFile(path string) Option { return func(o *options) { o.credentials = path } }

// WithInProcessServer connects to a server running in this process (such as
// one started by [RunEmbedded]) through a pipe instead of TCP; the url given
// to [Connect] may then be empty. The connection cannot outlive that server:
// after it shuts down the client keeps trying it in vain.
func WithInProcessServer(s nats.InProcessConnProvider) Option {
	return func(o *options) { o.inProcess = s }
}

// WithLogger sets the logger for connection events (disconnects, reconnects,
// asynchronous errors). By default nothing is logged. Server addresses are
// logged with any user information removed.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithOutageMessage sets the message logged, at error level, when the server
// cannot be reached: at the first failed attempt to connect or reconnect, then
// every [WithOutageLogInterval] while it stays unreachable, with the server's
// URL (user information removed), the last attempt's error and how long it has
// been down. Say there what it means for the program's users, for example
// "cannot reach NATS; answering events 503 until it is back". Default:
// [DefaultOutageMessage]. When the server is reached again, "nats connected" or
// "nats reconnected" is logged at info level with how long it was down.
func WithOutageMessage(msg string) Option { return func(o *options) { o.outageMsg = msg } }

// WithOutageLogInterval sets how often an outage is logged again while it
// lasts. Default: [DefaultOutageLogInterval].
func WithOutageLogInterval(d time.Duration) Option { return func(o *options) { o.outageEvery = d } }

// WithReconnectBackoff sets the wait before the first reconnect attempt and
// the longest wait between attempts; the wait doubles from min up to max,
// with jitter. Defaults: [DefaultReconnectMin], [DefaultReconnectMax].
func WithReconnectBackoff(minWait, maxWait time.Duration) Option {
	return func(o *options) { o.backoffMin, o.backoffMax = minWait, maxWait }
}

// WithAckTimeout sets how long the client keeps waiting for a publish's ack
// that nobody waits for any more. Default: [DefaultAckTimeout].
func WithAckTimeout(d time.Duration) Option { return func(o *options) { o.ackTimeout = d } }

// WithMaxPending sets the number of publishes that may await their ack at
// one time. Default: [DefaultMaxPending].
func WithMaxPending(n int) Option { return func(o *options) { o.maxPending = n } }

// WithBackgroundConnect makes [Connect] return at once even when the server
// cannot be reached yet; the client keeps trying and [Client.Connected] says
// when it succeeded. Without it Connect waits for the first connection until
// its ctx is done.
func WithBackgroundConnect() Option { return func(o *options) { o.background = true } }

// WithBulkConnection makes the client open a second connection, named after the
// first with " (bulk)", for [Client.PublishBestEffort]. A nats.Conn writes to its
// socket holding its lock, so a large write of best-effort records (the event log,
// hundreds of kilobytes at a time under load) on the connection that publishes
// actions would hold every publisher, and their acks, behind it; the server also
// reads each connection on its own. It reconnects as the first does and is not
// logged; while it is down, best-effort publishes go over the first connection.
func WithBulkConnection() Option { return func(o *options) { o.bulk = true } }

// WithNATSOptions adds options to the underlying [nats.Connect] call, for
// example TLS settings. They are applied after this package's own.
func WithNATSOptions(opts ...nats.Option) Option {
	return func(o *options) { o.extra = append(o.extra, opts...) }
}

// Connect connects to the NATS server(s) at serverURL (a comma-separated list is
// accepted) and creates a JetStream context.
//
// Unless [WithBackgroundConnect] is given, Connect waits for the first
// connection until ctx is done and then fails with an error wrapping
// [ErrUnavailable]. After that the client reconnects forever, with backoff.
// Publishes are never buffered while disconnected: they fail at once, so that
// a webhook is answered 503 rather than acknowledged on a promise.
func Connect(ctx context.Context, serverURL string, opts ...Option) (*Client, error) {
	o := options{
		backoffMin: DefaultReconnectMin,
		backoffMax: DefaultReconnectMax,
		ackTimeout: DefaultAckTimeout,
		maxPending: DefaultMaxPending,
		flushTime:  5 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.backoffMin <= 0 {
		o.backoffMin = DefaultReconnectMin
	}
	o.backoffMax = max(o.backoffMax, o.backoffMin)

	if o.outageEvery <= 0 {
		o.outageEvery = DefaultOutageLogInterval
	}
	server := RedactURLs(serverURL)
	if o.inProcess != nil {
		server = "in-process"
	}
	c := &Client{
		log:       o.log,
		down:      closedChan(),
		isDown:    true,
		connected: make(chan struct{}),
		outage: outage{
			server:  server,
			message: cmp.Or(o.outageMsg, DefaultOutageMessage),
			every:   o.outageEvery,
			since:   time.Now(),
		},
	}
	nopts := append(o.connOptions(o.name),
		nats.ConnectHandler(func(nc *nats.Conn) {
			c.setUp()
			c.reached("nats connected", nc.ConnectedUrlRedacted())
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			c.setUp()
			c.reached("nats reconnected", nc.ConnectedUrlRedacted())
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			c.setDown()
			c.lost(err)
			c.log.Warn("nats disconnected", "error", err)
		}),
		nats.ReconnectErrHandler(func(nc *nats.Conn, err error) {
			c.attemptFailed(nc, err)
		}),
		nats.ClosedHandler(func(*nats.Conn) {
			c.setDown()
			c.log.Info("nats connection closed")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				c.log.Error("nats asynchronous error", "subject", sub.Subject, "error", err)
				return
			}
			c.log.Error("nats asynchronous error", "error", err)
		}),
	)
	nopts = append(nopts, o.extra...)

	nc, err := nats.Connect(serverURL, nopts...)
	if err != nil {
		c.stopOutageLog()
		return nil, fmt.Errorf("connect to nats %s: %w", RedactURLs(serverURL), err)
	}
	c.nc = nc
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(max(o.maxPending, 1)),
		jetstream.WithPublishAsyncTimeout(o.ackTimeout),
	)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("create jetstream context: %w", err)
	}
	c.js = js
	if o.bulk {
		bopts := append(o.connOptions(strings.TrimSpace(o.name+" (bulk)")),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				c.log.Error("nats asynchronous error on the bulk connection", "error", err)
			}))
		if c.bulk, err = nats.Connect(serverURL, append(bopts, o.extra...)...); err != nil {
			c.Close()
			return nil, fmt.Errorf("connect to nats %s (bulk): %w", RedactURLs(serverURL), err)
		}
	}
	if nc.IsConnected() {
		c.setUp()
	}
	if o.background {
		return c, nil
	}
	select {
	case <-c.connected:
		return c, nil
	case <-ctx.Done():
		lastErr := nc.LastError()
		c.Close()
		if lastErr == nil {
			lastErr = ctx.Err()
		}
		return nil, fmt.Errorf("%w: connect to nats %s: %w", ErrUnavailable, RedactURLs(serverURL), lastErr)
	}
}

// connOptions are the options of both of a client's connections: reconnect forever
// with backoff, publish nothing while disconnected, and the credentials.
func (o *options) connOptions(name string) []nats.Option {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.CustomReconnectDelay(backoff(o.backoffMin, o.backoffMax)),
		// No reconnect buffer: a publish while disconnected fails at once.
		nats.ReconnectBufSize(-1),
		// Bound a write to a stuck socket; the connection is then dropped.
		nats.FlusherTimeout(o.flushTime),
		// Notice a silently dead connection within a minute.
		nats.PingInterval(20 * time.Second),
		nats.MaxPingsOutstanding(3),
	}
	if o.credentials != "" {
		opts = append(opts, nats.UserCredentials(o.credentials))
	}
	if o.inProcess != nil {
		opts = append(opts, nats.InProcessServer(o.inProcess))
	}
	return opts
}

// Connected reports whether the client is connected to a server right now;
// use it for readiness.
func (c *Client) Connected() bool { return c.nc.IsConnected() }

// JetStream returns the JetStream context, for stream management and reading.
func (c *Client) JetStream() jetstream.JetStream { return c.js }

// Conn returns the underlying NATS connection.
func (c *Client) Conn() *nats.Conn { return c.nc }

// Close closes the connection. Publishes still waiting for their acks fail
// with [ErrUnavailable].
func (c *Client) Close() {
	c.stopOutageLog()
	if c.bulk != nil {
		// What was published best-effort is sent before the connection goes.
		_ = c.bulk.FlushTimeout(time.Second)
		c.bulk.Close()
	}
	c.nc.Close()
	c.setDown()
}

// stopOutageLog stops logging outages, for good.
func (c *Client) stopOutageLog() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.outage.closed = true
	if c.outage.timer != nil {
		c.outage.timer.Stop()
	}
}

// lost notes that the connection was lost; the outage is logged at the first
// failed attempt to reconnect, not before, so that a connection that comes
// back at once logs no error.
func (c *Client) lost(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.outage.since.IsZero() {
		c.outage.since = time.Now()
	}
	if err != nil {
		c.outage.lastErr = err
	}
}

// attemptFailed notes a failed attempt to connect or reconnect, and logs the
// outage if it was not yet logged.
func (c *Client) attemptFailed(nc *nats.Conn, err error) {
	if errors.Is(err, nats.ErrNoServers) {
		// What the first attempt reports when every server refused the connection.
		err = fmt.Errorf("connection refused: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	o := &c.outage
	if o.closed {
		return
	}
	o.conn = nc
	if o.since.IsZero() {
		o.since = time.Now()
	}
	if err != nil {
		o.lastErr = err
	}
	if !o.logged {
		c.logOutage()
	}
}

// logOutage logs the outage and schedules the next log. c.mu must be held.
func (c *Client) logOutage() {
	o := &c.outage
	err := o.lastErr
	if last := o.conn.LastError(); last != nil {
		err = last // an error after the connection was made, such as an authorization violation
	}
	if err == nil {
		err = errors.New("not connected")
	}
	c.log.Error(o.message, "server", o.server, "error", err, "down", time.Since(o.since).Round(100*time.Millisecond).String())
	o.logged = true
	if o.timer == nil {
		o.timer = time.AfterFunc(o.every, c.logOutageAgain)
	} else {
		o.timer.Reset(o.every)
	}
}

// logOutageAgain is the periodic log while the outage lasts.
func (c *Client) logOutageAgain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o := &c.outage; o.closed || o.since.IsZero() || o.conn.IsConnected() || o.conn.IsClosed() {
		return
	}
	c.logOutage()
}

// reached logs that the server was reached, with how long it could not be, and
// ends the outage.
func (c *Client) reached(msg, server string) {
	c.mu.Lock()
	o := &c.outage
	down := time.Duration(0)
	if o.logged {
		down = time.Since(o.since)
	}
	o.since, o.lastErr, o.logged = time.Time{}, nil, false
	if o.timer != nil {
		o.timer.Stop()
	}
	c.mu.Unlock()
	if down > 0 {
		c.log.Info(msg, "server", server, "down", down.Round(100*time.Millisecond).String())
		return
	}
	c.log.Info(msg, "server", server)
}

// downSignal returns a channel that is closed when the connection is lost.
// It returns nil (never closed) when the connection is up but the reconnect
// callback has not run yet, so that a caller is not failed spuriously.
func (c *Client) downSignal() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isDown {
		return nil
	}
	return c.down
}

func (c *Client) setUp() {
	c.mu.Lock()
	if c.isDown {
		c.down = make(chan struct{})
		c.isDown = false
	}
	c.mu.Unlock()
	c.firstOnce.Do(func() { close(c.connected) })
}

func (c *Client) setDown() {
	c.mu.Lock()
	if !c.isDown {
		close(c.down)
		c.isDown = true
	}
	c.mu.Unlock()
}

func closedChan() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}

// backoff returns a reconnect delay that doubles from minWait to maxWait
// with up to 20% jitter either way. attempts counts passes over the server
// list, from 1.
func backoff(minWait, maxWait time.Duration) nats.ReconnectDelayHandler {
	return func(attempts int) time.Duration {
		d := minWait
		for i := 1; i < attempts && d < maxWait; i++ {
			d *= 2
		}
		d = min(d, maxWait)
		jitter := time.Duration(rand.Int64N(int64(d)/5 + 1))
		if rand.IntN(2) == 0 {
			return d - jitter
		}
		return d + jitter
	}
}

// RedactURLs replaces the user information (password or token) of every URL of a
// comma-separated server list with "redacted", for logs, errors and status messages.
func RedactURLs(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if u, err := url.Parse(p); err == nil && u.User != nil {
			u.User = url.User("redacted")
			p = u.String()
		} else if err != nil && strings.Contains(p, "@") {
			p = "<unparsable url>"
		}
		parts[i] = p
	}
	return strings.Join(parts, ",")
}

// errClosed is reported when a publish is attempted on a closed client.
var errClosed = errors.New("client closed")
