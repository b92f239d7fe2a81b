package natstest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// childEnv carries a server's options to a test binary started as a server.
const childEnv = "INLET_NATSTEST_SERVER"

// childOptions are what a server process needs to know.
type childOptions struct {
	Name        string `json:"name"`
	Cluster     string `json:"cluster"`
	Port        int    `json:"port"`
	ClusterPort int    `json:"clusterPort"`
	Routes      []int  `json:"routes"`
	StoreDir    string `json:"storeDir"`
	// HeapPort, when set, is a loopback port where the process answers GET
	// /heap with its live heap in bytes after a garbage collection.
	HeapPort int `json:"heapPort,omitempty"`
}

// ServeIfChild runs a NATS server and never returns when the process was
// started by [StartProcessCluster] as one; otherwise it returns at once. Call
// it first in the TestMain of a package that uses StartProcessCluster.
func ServeIfChild() {
	spec := os.Getenv(childEnv)
	if spec == "" {
		return
	}
	var o childOptions
	if err := json.Unmarshal([]byte(spec), &o); err != nil {
		fmt.Fprintf(os.Stderr, "natstest: bad %s: %v\n", childEnv, err)
		os.Exit(2)
	}
	routes := make([]*url.URL, 0, len(o.Routes))
	for _, p := range o.Routes {
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: net.JoinHostPort(loopback, strconv.Itoa(p))})
	}
	opts := &server.Options{
		ServerName: o.Name,
		Host:       loopback,
		Port:       o.Port,
		NoLog:      true,
		NoSigs:     true,
		JetStream:  true,
		StoreDir:   o.StoreDir,
		Routes:     routes,
		// Equal limits on every server, as in StartCluster.
		JetStreamMaxStore:  8 << 30,
		JetStreamMaxMemory: 1 << 30,
	}
	if o.ClusterPort != 0 {
		opts.Cluster = server.ClusterOpts{Name: o.Cluster, Host: loopback, Port: o.ClusterPort}
	}
	if o.HeapPort != 0 {
		go serveHeap(o.HeapPort)
	}
	s, err := server.NewServer(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "natstest: %v\n", err)
		os.Exit(2)
	}
	go s.Start()
	// SIGTERM is a clean shutdown; a test's SIGKILL is not, as it is meant to be.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	s.Shutdown()
	s.WaitForShutdown()
	os.Exit(0)
}

// serveHeap answers GET /heap on port with the live heap after a collection.
func serveHeap(port int) {
	mux := http.NewServeMux()
	mux.HandleFunc("/heap", func(w http.ResponseWriter, _ *http.Request) {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		fmt.Fprint(w, m.HeapAlloc)
	})
	_ = http.ListenAndServe(net.JoinHostPort(loopback, strconv.Itoa(port)), mux)
}

// ProcessCluster is a NATS cluster of server processes on loopback: each
// server is the test binary started again as a server (see [ServeIfChild]), so
// that a test can kill one with SIGKILL, as a crash or an OOM kill would, and
// start it again on the same ports and store.
type ProcessCluster struct {
	t     testing.TB
	opts  []childOptions
	mu    sync.Mutex
	procs []*exec.Cmd // nil while a server is down
}

// StartProcessCluster starts n clustered servers (cluster "inlet-proc") with
// JetStream, each with a store in a temporary directory of t, and waits until
// every one accepts connections and the cluster has a JetStream meta leader.
// With n = 1 the one server is not clustered. The servers are killed when the
// test ends.
func StartProcessCluster(t testing.TB, n int) *ProcessCluster {
	t.Helper()
	c := &ProcessCluster{t: t, opts: make([]childOptions, n), procs: make([]*exec.Cmd, n)}
	clusterPorts := make([]int, n)
	for i := range n {
		if n > 1 {
			clusterPorts[i] = freePort(t)
		}
	}
	for i := range n {
		o := childOptions{
			Name: fmt.Sprintf("proc-%d", i), Cluster: "inlet-proc",
			Port: freePort(t), ClusterPort: clusterPorts[i], StoreDir: t.TempDir(),
			HeapPort: freePort(t),
		}
		for j, p := range clusterPorts {
			if j != i {
				o.Routes = append(o.Routes, p)
			}
		}
		c.opts[i] = o
	}
	t.Cleanup(func() {
		for i := range c.procs {
			c.Kill(i)
		}
	})
	for i := range n {
		c.Start(i)
	}
	c.WaitForLeader(60 * time.Second)
	return c
}

// URL returns the client URLs of every server, comma-separated.
func (c *ProcessCluster) URL() string {
	urls := make([]string, len(c.opts))
	for i := range c.opts {
		urls[i] = c.ClientURL(i)
	}
	return strings.Join(urls, ",")
}

// ClientURL returns server i's client URL.
func (c *ProcessCluster) ClientURL(i int) string {
	return fmt.Sprintf("nats://127.0.0.1:%d", c.opts[i].Port)
}

// Name returns server i's server name.
func (c *ProcessCluster) Name(i int) string { return c.opts[i].Name }

// Index returns the index of the server named name, or -1.
func (c *ProcessCluster) Index(name string) int {
	for i, o := range c.opts {
		if o.Name == name {
			return i
		}
	}
	return -1
}

// Start starts server i (again, on its ports and store) and waits until it
// accepts connections.
func (c *ProcessCluster) Start(i int) {
	c.t.Helper()
	spec, err := json.Marshal(c.opts[i])
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start nats server %d: %v", i, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	c.mu.Lock()
	c.procs[i] = cmd
	c.mu.Unlock()
	addr := net.JoinHostPort(loopback, strconv.Itoa(c.opts[i].Port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			c.t.Fatalf("nats server %d exited at start (%v): does the package's TestMain call natstest.ServeIfChild?", i, err)
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("nats server %d does not accept connections on %s after 30s", i, addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Reap the process when it ends, whoever ends it.
	go func() {
		<-exited //nolint:errcheck // stopped or killed on purpose: the exit status says nothing new
		c.mu.Lock()
		if c.procs[i] == cmd {
			c.procs[i] = nil
		}
		c.mu.Unlock()
	}()
}

// Memory returns server i's resident set size (VmRSS) and live heap, in bytes.
func (c *ProcessCluster) Memory(i int) (rss, heap uint64, err error) {
	c.mu.Lock()
	cmd := c.procs[i]
	c.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return 0, 0, fmt.Errorf("server %d is down", i)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("VmRSS %q: %w", v, err)
			}
			rss = kb << 10
		}
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/heap", c.opts[i].HeapPort))
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	heap, err = strconv.ParseUint(string(body), 10, 64)
	return rss, heap, err
}

// Kill kills server i with SIGKILL (no shutdown, no flush) and waits until the
// process is gone. Killing a server that is down does nothing.
func (c *ProcessCluster) Kill(i int) {
	c.mu.Lock()
	cmd := c.procs[i]
	c.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Kill()
	for range 200 {
		c.mu.Lock()
		gone := c.procs[i] != cmd
		c.mu.Unlock()
		if gone {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WaitForLeader waits until the cluster has a JetStream meta leader: account
// info is answered through one of the running servers.
func (c *ProcessCluster) WaitForLeader(within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		if last = c.accountInfo(); last == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("nats cluster has no JetStream meta leader after %s: %v", within, last)
}

func (c *ProcessCluster) accountInfo() error {
	nc, err := nats.Connect(c.URL(), nats.Timeout(time.Second))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err
}

// StreamLeader returns the index of the server leading stream, waiting up to
// within for the stream to have a leader.
func (c *ProcessCluster) StreamLeader(stream string, within time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		i, err := c.streamLeader(stream)
		if err == nil && i >= 0 {
			return i
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("stream %s has no leader after %s: %v", stream, within, last)
	return -1
}

func (c *ProcessCluster) streamLeader(stream string) (int, error) {
	nc, err := nats.Connect(c.URL(), nats.Timeout(time.Second))
	if err != nil {
		return -1, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return -1, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return -1, err
	}
	info := s.CachedInfo()
	if info.Cluster == nil {
		return -1, fmt.Errorf("stream %s reports no cluster", stream)
	}
	return c.Index(info.Cluster.Leader), nil
}

// CPUTime returns the CPU time (user and system) server i's process has used, read
// from /proc/<pid>/stat in clock ticks (assumed 100 a second, Linux's USER_HZ).
func (c *ProcessCluster) CPUTime(i int) (time.Duration, error) {
	c.mu.Lock()
	cmd := c.procs[i]
	c.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return 0, fmt.Errorf("server %d is down", i)
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count fields after it.
	_, rest, ok := strings.Cut(string(stat), ") ")
	fields := strings.Fields(rest)
	if !ok || len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", cmd.Process.Pid)
	}
	// utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
	var ticks uint64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / 100), nil
}
