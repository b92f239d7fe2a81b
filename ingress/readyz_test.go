package ingress_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
)

// TestReadinessKeepsThe503Contract checks /readyz: not ready until the configuration
// is loaded and NATS has been reached, then ready even while NATS is down, so that the
// instance stays in its Service and senders get 503 with Retry-After from inlet rather
// than connection errors.
func TestReadinessKeepsThe503Contract(t *testing.T) {
	srv, url := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := jetstream.Connect(ctx, url, jetstream.WithReconnectBackoff(20*time.Millisecond, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	s := ingress.NewServer(ingress.Options{Publisher: c})
	h := s.Handler()

	readyz := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		body, _ := io.ReadAll(rec.Result().Body)
		return rec.Code, strings.TrimSpace(string(body))
	}
	if code, body := readyz(); code != http.StatusServiceUnavailable || !strings.Contains(body, "configuration") {
		t.Errorf("before the configuration: %d %q, want 503 about the configuration", code, body)
	}
	s.SetSnapshot(&config.Snapshot{})
	if code, body := readyz(); code != http.StatusOK || body != "ok" {
		t.Errorf("configured and connected: %d %q, want 200 ok", code, body)
	}

	restart := natstest.Outage(t, srv)
	waitFor(t, "client disconnected", func() bool { return !c.Connected() })
	if code, body := readyz(); code != http.StatusOK || !strings.Contains(body, "503 with Retry-After") {
		t.Errorf("NATS down after being reached: %d %q, want 200 saying events get 503", code, body)
	}
	restart()
	waitFor(t, "client reconnected", c.Connected)
	if code, body := readyz(); code != http.StatusOK || body != "ok" {
		t.Errorf("NATS back: %d %q, want 200 ok", code, body)
	}
}

// TestNotReadyUntilNATSIsReached checks that an instance that never reached NATS
// (a wrong URL or credentials of its own) stays out of its Service.
func TestNotReadyUntilNATSIsReached(t *testing.T) {
	c, err := jetstream.Connect(context.Background(), "nats://127.0.0.1:1", jetstream.WithBackgroundConnect())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	s := ingress.NewServer(ingress.Options{Publisher: c})
	s.SetSnapshot(&config.Snapshot{})
	if err := s.Ready(); err == nil || !strings.Contains(err.Error(), "NATS not reached") {
		t.Errorf("Ready() = %v, want NATS not reached yet", err)
	}
}

// TestAloneWithoutNATSLeavesTheService checks readiness with peers: an instance that
// cannot reach NATS while another instance can is not ready (senders go to the other);
// when no instance reaches NATS it is ready again and answers events 503 with
// Retry-After.
func TestAloneWithoutNATSLeavesTheService(t *testing.T) {
	connect := func(url string) *jetstream.Client {
		c, err := jetstream.Connect(context.Background(), url, jetstream.WithReconnectBackoff(20*time.Millisecond, 100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	// Two instances on two servers, so that one can lose NATS alone.
	natsA, urlA := natstest.Start(t)
	natsB, urlB := natstest.Start(t)
	a := ingress.NewServer(ingress.Options{Publisher: connect(urlA)})
	a.SetSnapshot(&config.Snapshot{})
	peerA := httptest.NewServer(a.Handler())
	t.Cleanup(peerA.Close)
	clientB := connect(urlB)
	b := ingress.NewServer(ingress.Options{Publisher: clientB, PeersReachNATS: ingress.PeerChecker(func(context.Context) ([]string, error) {
		return []string{strings.TrimPrefix(peerA.URL, "http://"), "127.0.0.1:1"}, nil // one peer up, one gone
	})})
	b.SetSnapshot(&config.Snapshot{})
	if err := b.Ready(); err != nil {
		t.Fatalf("both connected: Ready() = %v", err)
	}

	restartB := natstest.Outage(t, natsB)
	waitFor(t, "instance b disconnected", func() bool { return !clientB.Connected() })
	if err := b.Ready(); err == nil || !strings.Contains(err.Error(), "another instance reaches it") {
		t.Errorf("b alone without NATS: Ready() = %v, want not ready while a reaches NATS", err)
	}

	natstest.Outage(t, natsA)
	waitFor(t, "a's /connected says 503", func() bool {
		resp, err := http.Get(peerA.URL + "/connected")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	if err := b.Ready(); err != nil {
		t.Errorf("NATS down for every instance: Ready() = %v, want ready (events answered 503 with Retry-After)", err)
	}
	restartB()
	waitFor(t, "instance b reconnected", clientB.Connected)
	if err := b.Ready(); err != nil {
		t.Errorf("b reconnected: Ready() = %v", err)
	}
}
