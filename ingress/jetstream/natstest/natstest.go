// Package natstest runs real NATS servers with JetStream for tests: on a free
// loopback port, with a temporary store, shut down when the test ends, and
// able to go away and come back on the same port and store to simulate an
// outage.
package natstest

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	inletjs "inlet.dev/inlet/ingress/jetstream"
)

// loopback is the only address the test servers listen on.
const loopback = "127.0.0.1"

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
		Host:     loopback,
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

// Cluster is a JetStream cluster of servers on loopback, for tests that need
// replicated (R3) streams.
type Cluster struct {
	// Servers are the cluster's servers, in the order they were started.
	Servers []*server.Server
	name    string
	ports   []int // route ports, by server
	dirs    []string
}

// StartCluster runs n JetStream servers clustered on loopback (cluster name
// "inlet-test"), each with a store in a temporary directory of t and the server
// tags "test" and "server:<i>" and the same storage limits, and waits until they have elected a JetStream
// meta leader. The servers are shut down when the test ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{name: "inlet-test", ports: make([]int, n), dirs: make([]string, n)}
	for i := range n {
		c.ports[i] = freePort(t)
		c.dirs[i] = t.TempDir()
	}
	c.Servers = make([]*server.Server, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { c.Servers[i], errs[i] = c.start(t, i) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c.WaitForLeader(t)
	return c
}

// URL returns the client URLs of every server, comma-separated, as a NATS
// client takes them.
func (c *Cluster) URL() string {
	urls := make([]string, 0, len(c.Servers))
	for _, s := range c.Servers {
		urls = append(urls, s.ClientURL())
	}
	return strings.Join(urls, ",")
}

// WaitForLeader waits up to 60s (elections are slow on a busy machine) until
// the cluster has a JetStream meta leader and every running server is current
// with it.
func (c *Cluster) WaitForLeader(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		leader, current := false, true
		for _, s := range c.Servers {
			if s == nil || !s.Running() {
				continue
			}
			leader = leader || s.JetStreamIsLeader()
			current = current && s.JetStreamIsCurrent()
		}
		if leader && current {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("nats cluster elected no JetStream leader within 60s")
}

// start runs server i of the cluster on a free client port, its route port
// and its store, with routes to every other server.
func (c *Cluster) start(t testing.TB, i int) (*server.Server, error) {
	routes := make([]*url.URL, 0, len(c.ports)-1)
	for j, p := range c.ports {
		if j != i {
			routes = append(routes, &url.URL{Scheme: "nats-route", Host: net.JoinHostPort(loopback, strconv.Itoa(p))})
		}
	}
	opts := &server.Options{
		ServerName: fmt.Sprintf("%s-%d", c.name, i),
		Host:       loopback,
		Port:       -1,
		NoLog:      true,
		NoSigs:     true,
		JetStream:  true,
		StoreDir:   c.dirs[i],
		Cluster: server.ClusterOpts{
			Name: c.name,
			Host: loopback,
			Port: c.ports[i],
		},
		Routes: routes,
		// Every server has the tag "test", and its own "server:<i>", for placement.
		Tags: []string{"test", fmt.Sprintf("server:%d", i)},
		// The same storage limits on every server, as a deployment sets them (the
		// NATS Helm chart from its volume's size), so that JetStream places new
		// streams by the streams each server has rather than by a disk's free
		// space measured at start.
		JetStreamMaxStore:  8 << 30,
		JetStreamMaxMemory: 1 << 30,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start nats server %d: %w", i, err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		Stop(s)
		return nil, fmt.Errorf("nats server %d not ready for connections after 10s", i)
	}
	t.Cleanup(func() { Stop(s) })
	return s, nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
