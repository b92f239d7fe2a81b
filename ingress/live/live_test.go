package live_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
	"inlet.dev/inlet/ingress/live"
	"inlet.dev/inlet/ingress/local"
	"inlet.dev/inlet/ingress/stats"
)

func connect(t *testing.T) *jetstream.Client {
	t.Helper()
	_, url := natstest.Start(t)
	nc, err := jetstream.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// stripe is the snapshot of config/samples/stripe.yaml.
func stripe(t *testing.T) *config.Snapshot {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	in, _, bad, err := local.Load(nil, "default", filepath.Join(filepath.Dir(file), "..", "..", "config", "samples", "stripe.yaml"))
	if err != nil || len(bad) > 0 {
		t.Fatalf("load: %v %v", err, bad)
	}
	return config.Build(in)
}

func get(url string) (int, string) {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestRunServesAndReportsUntilStopped runs an ingress fed one snapshot: it becomes
// ready, serves /metrics on its own listener, keeps serving during the shutdown delay,
// and puts its final counts into the stats bucket as it stops.
func TestRunServesAndReportsUntilStopped(t *testing.T) {
	nc := connect(t)
	ln, metrics := listen(t), listen(t)
	addr, metricsAddr := ln.Addr().String(), metrics.Addr().String()
	applied := make(chan *config.Snapshot, 1)
	li := live.New(live.Options{NATS: nc, Instance: "pod-1", StatsInterval: time.Hour, Metrics: metrics,
		ShutdownDelay: time.Second, Drain: time.Second, Logger: logr.Discard(),
		AfterApply: func(s *config.Snapshot) { applied <- s }})
	snap := stripe(t)
	feed := func(ctx context.Context) error { //nolint:unparam // a feed that ends only when Run stops it
		li.Apply(snap)
		<-ctx.Done()
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- li.Run(ctx, feed, ln) }()

	if got := <-applied; got != snap {
		t.Fatal("AfterApply was not given the snapshot applied")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get("http://" + addr + "/readyz")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, body := get("http://" + metricsAddr + "/metrics"); code != http.StatusOK || !strings.Contains(body, "inlet_ingress_") {
		t.Errorf("/metrics on the metrics listener: %d", code)
	}
	if code, _ := get("http://" + addr + "/metrics"); code == http.StatusOK {
		t.Error("/metrics is served with the endpoints")
	}

	key := types.NamespacedName{Namespace: "default", Name: "stripe-production"}
	li.Server().Stats().Record(key, time.Now(), 3, 4)
	li.Server().Stats().Matched(key, "stripe-winback")
	cancel()
	time.Sleep(100 * time.Millisecond)
	if code, body := get("http://" + addr + "/healthz"); code != http.StatusOK {
		t.Errorf("during the shutdown delay: %d %s, want still serving", code, body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was done")
	}

	// The reports run every hour: only the final one can have put these.
	got, err := stats.Read(context.Background(), nc.JetStream(), "default", "stripe-production")
	if err != nil || got.EventsReceived != 3 || got.ActionsPublished != 4 || got.Matched["stripe-winback"] != 1 {
		t.Errorf("counters after stopping = %+v, %v; want 3 events, 4 actions, 1 match", got, err)
	}
	for _, a := range []string{addr, metricsAddr} {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Run returned", a)
		}
	}
}

func TestRunStopsWhenItsFeedStops(t *testing.T) {
	nc := connect(t)
	failed := errors.New("cannot list EventMappings")
	tests := map[string]struct {
		feedErr error
		want    string
	}{
		"feed fails":       {feedErr: failed, want: failed.Error()},
		"feed returns nil": {feedErr: nil, want: "watch stopped"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			li := live.New(live.Options{NATS: nc, Drain: time.Second, ShutdownDelay: time.Hour, Logger: logr.Discard()})
			done := make(chan error, 1)
			go func() {
				done <- li.Run(context.Background(), func(context.Context) error { return tt.feedErr }, listen(t))
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Run = %v, want an error saying %q", err, tt.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run kept serving after its feed stopped")
			}
		})
	}
}
