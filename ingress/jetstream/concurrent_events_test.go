package jetstream_test

import (
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	inletjs "inlet.dev/inlet/ingress/jetstream"
)

// Concurrent deliveries of the same event, as a provider's retries racing each other:
// the event is stored once, and every delivery is acknowledged (stored or Duplicate).
func TestPublishEventsConcurrentCopies(t *testing.T) {
	c, url := setup(t)
	other := connect(t, url)
	ensure(t, c, inletjs.ActionStreamConfig(inletjs.DefaultActionStream, 24*time.Hour, 1, jetstream.MemoryStorage))
	ev := event("evt_race", 3)
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored := 0
	for k := range 16 {
		wg.Go(func() {
			client := c
			if k%2 == 1 {
				client = other
			}
			res, err := client.PublishEvents(ctxT(t, 10*time.Second), []inletjs.Event{ev})
			if err != nil {
				t.Errorf("copy %d: %v", k, err)
				return
			}
			if !res[0].Duplicate {
				mu.Lock()
				stored++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if n := streamMsgs(t, c, inletjs.DefaultActionStream); n != 3 {
		t.Errorf("stream holds %d messages, want 3", n)
	}
	if stored != 1 {
		t.Errorf("%d copies stored, want 1", stored)
	}
}
