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
