package main

import (
	"context"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
)

// natsWithStreams starts an in-process NATS server with inlet's default action and log
// streams (in memory) and returns a client named name and the server's URL.
func natsWithStreams(t *testing.T, name string) (*jetstream.Client, string) {
	t.Helper()
	_, url := natstest.Start(t)
	ctx := context.Background()
	client, err := jetstream.Connect(ctx, url, jetstream.WithName(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	for _, cfg := range []natsjs.StreamConfig{
		jetstream.ActionStreamConfig(v1alpha1.DefaultActionStream, time.Hour, 1, natsjs.MemoryStorage),
		jetstream.LogStreamConfig(v1alpha1.DefaultLogStream, time.Hour, 1, natsjs.MemoryStorage),
	} {
		if _, err := jetstream.EnsureStream(ctx, client.JetStream(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	return client, url
}
