package jetstream_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
)

// connect connects a client to url for the duration of the test, with fast
// reconnects.
func connect(t testing.TB, url string, opts ...inletjs.Option) *inletjs.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts = append([]inletjs.Option{
		inletjs.WithName(t.Name()),
		inletjs.WithReconnectBackoff(20*time.Millisecond, 200*time.Millisecond),
	}, opts...)
	c, err := inletjs.Connect(ctx, url, opts...)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// setup starts a server, connects a client and creates an action stream
// with a 24h duplicate window in file storage.
func setup(t testing.TB) (*inletjs.Client, string) {
	t.Helper()
	_, url := natstest.Start(t)
	c := connect(t, url)
	ensure(t, c, inletjs.ActionStreamConfig(inletjs.DefaultActionStream, 24*time.Hour, 1, jetstream.FileStorage))
	return c, url
}

func ensure(t testing.TB, c *inletjs.Client, cfg jetstream.StreamConfig) inletjs.EnsureResult {
	t.Helper()
	res, err := inletjs.EnsureStream(ctxT(t, 10*time.Second), c.JetStream(), cfg)
	if err != nil {
		t.Fatalf("EnsureStream(%s): %v", cfg.Name, err)
	}
	return res
}

// ctxT returns a context that ends after d or with the test.
func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// actions returns n action messages with ids derived from key.
func actions(key string, n int) []inletjs.Message {
	msgs := make([]inletjs.Message, n)
	for i := range msgs {
		msgs[i] = inletjs.Message{
			Subject: inletjs.ActionSubject("production", "triggerWorkflow"),
			MsgID:   inletjs.MsgID(key, "customer.subscription.deleted", "stripe-production", "production", "winback", fmt.Sprint(i)),
			Data:    fmt.Appendf(nil, `{"key":%q,"i":%d}`, key, i),
		}
	}
	return msgs
}

func streamMsgs(t testing.TB, c *inletjs.Client, stream string) uint64 {
	t.Helper()
	s, err := c.JetStream().Stream(ctxT(t, 5*time.Second), stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	return s.CachedInfo().State.Msgs
}

// mustPublish publishes msgs and fails the test unless all are acknowledged.
func mustPublish(t testing.TB, c *inletjs.Client, msgs []inletjs.Message) []inletjs.Result {
	t.Helper()
	res, err := c.PublishAll(ctxT(t, 10*time.Second), msgs)
	if err != nil {
		t.Fatalf("PublishAll: %v", err)
	}
	return res
}
