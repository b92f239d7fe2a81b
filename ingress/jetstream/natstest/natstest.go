// Package natstest runs real NATS servers with JetStream for tests: on a free
// loopback port, with a temporary store, shut down when the test ends, and
// able to go away and come back on the same port and store to simulate an
// outage.
package natstest

import (
	"net"
	"path/filepath"
	"sync"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	inletjs "inlet.dev/inlet/ingress/jetstream"
)

// Start runs a JetStream server on a free loopback port with a store in a
// temporary directory of t, and returns it with its client URL. The server is
// shut down when the test ends.
func Start(t testing.TB) (*server.Server, string) {
	t.Helper()
	s := StartAt(t, -1, t.TempDir())
	return s, s.ClientURL()
}

// StartAt runs a JetStream server on the loopback port port (-1: a free one)
// with its store in storeDir, shut down when the test ends.
func StartAt(t testing.TB, port int, storeDir string) *server.Server {
	t.Helper()
	s, err := inletjs.RunEmbedded(inletjs.EmbeddedOptions{
		Host:     "127.0.0.1",
		Port:     port,
		StoreDir: storeDir,
		NoLog:    true,
	})
	if err != nil {
		t.Fatalf("start nats server: %v", err)
	}
	storeDirs.Store(s, storeDir)
	t.Cleanup(func() {
		Stop(s)
		storeDirs.Delete(s)
	})
	return s
}

// storeDirs remembers the store directory each server was started with: the
// server itself reports the "jetstream" directory it creates inside it.
var storeDirs sync.Map // *server.Server → string

// Stop shuts s down and waits until it is gone. Stopping a stopped server
// does nothing.
func Stop(s *server.Server) {
	s.Shutdown()
	s.WaitForShutdown()
}

// Outage shuts s down and returns a function that starts a new server on the
// same port with the same store directory, as a restarted NATS pod would
// come back. Clients connected over TCP reconnect to it by themselves.
func Outage(t testing.TB, s *server.Server) (restart func() *server.Server) {
	t.Helper()
	addr, ok := s.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("nats server has no TCP listener (%v)", s.Addr())
	}
	port := addr.Port
	storeDir, ok := storeDirs.Load(s)
	if !ok {
		storeDir = filepath.Dir(s.StoreDir())
	}
	Stop(s)
	return func() *server.Server {
		t.Helper()
		return StartAt(t, port, storeDir.(string))
	}
}

// Restart shuts s down and starts it again on the same port and store
// directory.
func Restart(t testing.TB, s *server.Server) *server.Server {
	t.Helper()
	return Outage(t, s)()
}
