package jetstream_test

import (
	"os"
	"testing"

	"inlet.dev/inlet/ingress/jetstream/natstest"
)

func TestMain(m *testing.M) {
	// BenchmarkWindowCapacity starts this binary again as nats-server processes.
	natstest.ServeIfChild()
	os.Exit(m.Run())
}
