package jetstream

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedOptions configures a NATS server with JetStream run inside this
// process by [RunEmbedded].
type EmbeddedOptions struct {
	// Host is the address to listen on. Default: "127.0.0.1".
	Host string
	// Port is the client port; -1 picks a free one (read it back with
	// server.Addr or ClientURL), 0 means the NATS default, 4222.
	Port int
	// StoreDir is the directory JetStream stores streams in. Required; a
	// server started again on the same directory finds its streams, messages
	// and duplicate-window state again.
	StoreDir string
	// NoLog silences the server's own log.
	NoLog bool
	// InProcessOnly starts the server without a listener: clients reach it
	// only through [WithInProcessServer].
	InProcessOnly bool
	// ServerName names the server; default: one the server generates.
	ServerName string
	// MaxMemory and MaxStore limit JetStream's memory and file storage in
	// bytes; zero lets the server choose from the machine's resources.
	MaxMemory, MaxStore int64
	// ReadyTimeout bounds the wait for the server to accept connections.
	// Default: 10s.
	ReadyTimeout time.Duration
}

// RunEmbedded starts a NATS server with JetStream enabled in this process and
// waits until it accepts connections. Stop it with Shutdown (and
// WaitForShutdown to be sure its port and store are released).
func RunEmbedded(opts EmbeddedOptions) (*server.Server, error) {
	if opts.StoreDir == "" {
		return nil, errors.New("run embedded nats: a store directory is required for JetStream")
	}
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	sopts := &server.Options{
		ServerName:         opts.ServerName,
		Host:               host,
		Port:               opts.Port,
		DontListen:         opts.InProcessOnly,
		NoLog:              opts.NoLog,
		NoSigs:             true,
		JetStream:          true,
		StoreDir:           opts.StoreDir,
		JetStreamMaxMemory: opts.MaxMemory,
		JetStreamMaxStore:  opts.MaxStore,
	}
	s, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("run embedded nats: %w", err)
	}
	if !opts.NoLog {
		s.ConfigureLogger()
	}
	go s.Start()
	timeout := opts.ReadyTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if !s.ReadyForConnections(timeout) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, fmt.Errorf("run embedded nats: not ready for connections after %s", timeout)
	}
	if !s.JetStreamEnabled() {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, errors.New("run embedded nats: jetstream did not start")
	}
	return s, nil
}
