package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"inlet.dev/inlet/ingress/jetstream"
)

// startEmbeddedNATS starts the NATS server with JetStream that inlet dev and inlet
// cluster embed, listening on listen (--nats-listen) and storing under <data>/nats,
// and connects a client to it in-process. It returns the client, the server's URL, and
// a function that closes the client and stops the server.
func startEmbeddedNATS(ctx context.Context, listen, data, serverName, clientName string) (*jetstream.Client, string, func(), error) {
	host, portText, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, "", nil, fmt.Errorf("--nats-listen: %w", err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, "", nil, fmt.Errorf("--nats-listen: %w", err)
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, "", nil, err
	}
	srv, err := jetstream.RunEmbedded(jetstream.EmbeddedOptions{
		Host: host, Port: port, StoreDir: filepath.Join(data, "nats"), NoLog: true, ServerName: serverName,
	})
	if err != nil {
		return nil, "", nil, fmt.Errorf("start embedded NATS on %s "+
			"(is another inlet dev or inlet cluster running? --nats-listen picks another address): %w", listen, err)
	}
	stopServer := func() { srv.Shutdown(); srv.WaitForShutdown() }
	nc, err := jetstream.Connect(ctx, srv.ClientURL(), jetstream.WithName(clientName), jetstream.WithInProcessServer(srv))
	if err != nil {
		stopServer()
		return nil, "", nil, err
	}
	return nc, srv.ClientURL(), func() { nc.Close(); stopServer() }, nil
}
