package jetstream_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
)

const outageMessage = "cannot reach NATS; answering 503 until it is back"

// logRecords collects a client's log as JSON records.
type logRecords struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logRecords) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logRecords) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// records returns the records whose message is msg.
func (l *logRecords) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(l.text()) {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// waitRecord waits until a record with msg was logged and returns the first.
func (l *logRecords) waitRecord(t *testing.T, msg string, timeout time.Duration) map[string]any {
	t.Helper()
	end := time.Now().Add(timeout)
	for {
		if r := l.records(t, msg); len(r) > 0 {
			return r[0]
		}
		if time.Now().After(end) {
			t.Fatalf("no %q record logged within %s; the log:\n%s", msg, timeout, l.text())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func outageLogger(l *logRecords) inletjs.Option {
	return inletjs.WithLogger(slog.New(slog.NewJSONHandler(l, nil)))
}

// A lost server is logged at error level from the first failed attempt to reach it,
// again every interval while it stays away (not at every attempt), with its URL
// without the password, and its return is logged once with how long it was away.
func TestOutageIsLoggedFromTheFirstFailedAttempt(t *testing.T) {
	s, url := natstest.Start(t)
	var log logRecords
	const every = 400 * time.Millisecond
	withPassword := strings.Replace(url, "nats://", "nats://inlet:s3cr3t-pw@", 1)
	c := connect(t, withPassword, outageLogger(&log), inletjs.WithOutageMessage(outageMessage), inletjs.WithOutageLogInterval(every))

	restart := natstest.Outage(t, s)
	lost := time.Now()
	first := log.waitRecord(t, outageMessage, 2*time.Second)
	t.Logf("first outage record %s after the server stopped: %v", time.Since(lost).Round(time.Millisecond), first)
	if first["level"] != "ERROR" || first["error"] == "" || first["error"] == nil {
		t.Errorf("outage record = %v, want level ERROR with the attempt's error", first)
	}
	if server, _ := first["server"].(string); !strings.Contains(server, strings.TrimPrefix(url, "nats://")) {
		t.Errorf("outage record names server %q, want %s", server, url)
	}

	time.Sleep(5 * every)
	during := len(log.records(t, outageMessage))
	// Reconnect attempts run every 20-200ms; the outage is logged every 400ms only.
	if elapsed := time.Since(lost); during < 3 || during > int(elapsed/every)+2 {
		t.Errorf("%d outage records in %s, want one every %s", during, elapsed.Round(time.Millisecond), every)
	}

	restart()
	waitConnected(t, c)
	back := log.waitRecord(t, "nats reconnected", 5*time.Second)
	if down, _ := back["down"].(string); down == "" || down == "0s" {
		t.Errorf("reconnect record = %v, want how long NATS was down", back)
	}
	// Counted once the reconnect is logged: the server may take a while to restart on
	// a busy machine, and the outage is rightly logged until then.
	atReconnect := len(log.records(t, outageMessage))
	time.Sleep(3 * every)
	if after := len(log.records(t, outageMessage)); after > atReconnect {
		t.Errorf("%d outage records after NATS came back, want none", after-atReconnect)
	}
	if strings.Contains(log.text(), "s3cr3t-pw") {
		t.Errorf("the log holds the NATS password:\n%s", log.text())
	}
}

// A client that starts while its server is not there yet logs so at once, and logs
// when it finally connects.
func TestOutageBeforeTheFirstConnection(t *testing.T) {
	port := freePort(t)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	var log logRecords
	c, err := inletjs.Connect(context.Background(), url, inletjs.WithBackgroundConnect(), outageLogger(&log),
		inletjs.WithReconnectBackoff(20*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)

	first := log.waitRecord(t, inletjs.DefaultOutageMessage, time.Second)
	if e, _ := first["error"].(string); !strings.Contains(e, "connection refused") || first["server"] != url {
		t.Errorf("outage record = %v, want connection refused at %s", first, url)
	}
	natstest.StartAt(t, port, t.TempDir())
	waitConnected(t, c)
	if back := log.waitRecord(t, "nats connected", 5*time.Second); back["down"] == nil {
		t.Errorf("connect record = %v, want how long NATS was down", back)
	}
}

// A Connect that gives up stops logging the outage: the client is gone.
func TestOutageOfAFailedConnectIsNotLoggedOn(t *testing.T) {
	var log logRecords
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := inletjs.Connect(ctx, fmt.Sprintf("nats://127.0.0.1:%d", freePort(t)), outageLogger(&log),
		inletjs.WithReconnectBackoff(20*time.Millisecond, 50*time.Millisecond), inletjs.WithOutageLogInterval(50*time.Millisecond))
	if err == nil {
		t.Fatal("Connect to nothing succeeded")
	}
	logged := len(log.records(t, inletjs.DefaultOutageMessage))
	time.Sleep(300 * time.Millisecond)
	if more := len(log.records(t, inletjs.DefaultOutageMessage)) - logged; more > 1 {
		t.Errorf("%d outage records after Connect gave up, want none", more)
	}
}
