package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	inletjs "inlet.dev/inlet/ingress/jetstream"
)

// natsTarget says which NATS server to reach and how to authenticate.
type natsTarget struct {
	// URL is the server (a comma-separated list is accepted).
	URL string
	// Credentials is the content of a NATS credentials file read from a Secret; when
	// empty, the operator's own credentials file is used, if any.
	Credentials []byte
}

// jetStreamRunner gives reconcilers scoped access to JetStream, hiding connection
// pooling, credentials and timeouts, so that tests can substitute another server.
type jetStreamRunner interface {
	// WithJetStream runs f with a JetStream context for target. It fails with an error
	// wrapping inletjs.ErrUnavailable when the server cannot be reached.
	WithJetStream(ctx context.Context, target natsTarget, f func(ctx context.Context, js jetstream.JetStream) error) error
}

// Timeouts of NATS access from the operator.
const (
	natsConnectTimeout   = 5 * time.Second
	natsOperationTimeout = 10 * time.Second
	// natsIdleTimeout is how long a pooled connection may go unused before it is
	// closed, such as one made with credentials that were since rotated.
	natsIdleTimeout = 10 * time.Minute
	// natsFailureMemory is how long a failed connection attempt is remembered: calls in
	// that time fail at once instead of waiting natsConnectTimeout each.
	natsFailureMemory = 2 * time.Second
)

// natsPool keeps one connection per server and credentials. It is safe for concurrent
// use.
type natsPool struct {
	credentialsFile string

	mu       sync.Mutex
	clients  map[string]*pooledClient
	failures map[string]failedConnect
	closed   bool
}

type failedConnect struct {
	err error
	at  time.Time
}

type pooledClient struct {
	client   *inletjs.Client
	lastUsed time.Time
}

var _ jetStreamRunner = (*natsPool)(nil)

func newNATSPool(credentialsFile string) *natsPool {
	return &natsPool{credentialsFile: credentialsFile, clients: map[string]*pooledClient{}, failures: map[string]failedConnect{}}
}

// poolKey identifies a connection without keeping the credentials themselves.
func (p *natsPool) poolKey(t natsTarget) string {
	if len(t.Credentials) > 0 {
		sum := sha256.Sum256(t.Credentials)
		return t.URL + "\x00secret:" + hex.EncodeToString(sum[:])
	}
	return t.URL + "\x00file:" + p.credentialsFile
}

// WithJetStream implements jetStreamRunner.
func (p *natsPool) WithJetStream(ctx context.Context, t natsTarget, f func(context.Context, jetstream.JetStream) error) error {
	if t.URL == "" {
		return fmt.Errorf("%w: no NATS URL: set spec.publish.natsURL or the operator's NATS URL", inletjs.ErrUnavailable)
	}
	c, err := p.client(ctx, t)
	if err != nil {
		return err
	}
	if !c.Connected() {
		return fmt.Errorf("%w: not connected to NATS (reconnecting)", inletjs.ErrUnavailable)
	}
	ctx, cancel := context.WithTimeout(ctx, natsOperationTimeout)
	defer cancel()
	return f(ctx, c.JetStream())
}

// client returns the pooled client for t, connecting when there is none. A failed
// connection is not remembered: the next call tries again.
func (p *natsPool) client(ctx context.Context, t natsTarget) (*inletjs.Client, error) {
	key := p.poolKey(t)
	now := time.Now()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("%w: operator is shutting down", inletjs.ErrUnavailable)
	}
	p.evictIdleLocked(now, key)
	if pc, ok := p.clients[key]; ok {
		pc.lastUsed = now
		p.mu.Unlock()
		return pc.client, nil
	}
	if f, ok := p.failures[key]; ok && now.Sub(f.at) < natsFailureMemory {
		p.mu.Unlock()
		return nil, f.err
	}
	p.mu.Unlock()

	opts := []inletjs.Option{inletjs.WithName("inlet-operator")}
	switch {
	case len(t.Credentials) > 0:
		opts = append(opts, inletjs.WithNATSOptions(nats.UserCredentialBytes(t.Credentials)))
	case p.credentialsFile != "":
		opts = append(opts, inletjs.WithCredentialsFile(p.credentialsFile))
	}
	cctx, cancel := context.WithTimeout(ctx, natsConnectTimeout)
	defer cancel()
	c, err := inletjs.Connect(cctx, t.URL, opts...)
	if err != nil {
		if !errors.Is(err, inletjs.ErrUnavailable) {
			err = fmt.Errorf("%w: %w", inletjs.ErrUnavailable, err)
		}
		p.mu.Lock()
		p.failures[key] = failedConnect{err: err, at: time.Now()}
		p.mu.Unlock()
		return nil, err
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return nil, fmt.Errorf("%w: operator is shutting down", inletjs.ErrUnavailable)
	}
	if pc, ok := p.clients[key]; ok { // another reconcile connected meanwhile
		c.Close()
		pc.lastUsed = now
		return pc.client, nil
	}
	delete(p.failures, key)
	p.clients[key] = &pooledClient{client: c, lastUsed: now}
	return c, nil
}

// evictIdleLocked closes connections unused for natsIdleTimeout, except keep's.
func (p *natsPool) evictIdleLocked(now time.Time, keep string) {
	for k, f := range p.failures {
		if now.Sub(f.at) >= natsFailureMemory {
			delete(p.failures, k)
		}
	}
	for k, pc := range p.clients {
		if k != keep && now.Sub(pc.lastUsed) > natsIdleTimeout {
			pc.client.Close()
			delete(p.clients, k)
		}
	}
}

// Close closes every pooled connection; later calls fail.
func (p *natsPool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for k, pc := range p.clients {
		pc.client.Close()
		delete(p.clients, k)
	}
}
