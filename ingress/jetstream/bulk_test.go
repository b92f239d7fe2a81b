package jetstream_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
)

// With WithBulkConnection, best-effort records go over a second connection, which
// the server lists beside the first, and actions over the first; both are stored.
func TestBulkConnectionCarriesBestEffortRecords(t *testing.T) {
	srv, url := natstest.Start(t)
	c := connect(t, url, inletjs.WithBulkConnection())
	ensure(t, c, inletjs.ActionStreamConfig(inletjs.DefaultActionStream, time.Hour, 1, jetstream.FileStorage))
	ensure(t, c, inletjs.LogStreamConfig(inletjs.DefaultLogStream, time.Hour, 1, jetstream.FileStorage))

	records := make([]inletjs.Message, 50)
	for i := range records {
		records[i] = inletjs.Message{Subject: inletjs.EventLogSubject("default", "stripe", fmt.Sprint("evt", i)), Data: []byte(`{}`)}
	}
	if err := c.PublishBestEffort(records); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, c, actions("bulk", 3))

	deadline := time.Now().Add(5 * time.Second)
	for streamMsgs(t, c, inletjs.DefaultLogStream) != 50 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := streamMsgs(t, c, inletjs.DefaultLogStream); n != 50 {
		t.Fatalf("log stream holds %d records, want 50", n)
	}
	connz, err := srv.Connz(&server.ConnzOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]int64{}
	for _, conn := range connz.Conns {
		in[conn.Name] = conn.InMsgs
	}
	bulk, first := in[t.Name()+" (bulk)"], in[t.Name()]
	if bulk != 50 || first < 3 || first >= 50 {
		t.Errorf("messages in by connection = %v, want the 50 records on %q and the actions on %q", in, t.Name()+" (bulk)", t.Name())
	}

	// Closing the client closes both.
	c.Close()
	deadline = time.Now().Add(5 * time.Second)
	for srv.NumClients() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := srv.NumClients(); n != 0 {
		t.Errorf("%d connections left after Close", n)
	}
}
