package jetstream_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
)

// event returns an event with id derived from key and n action messages.
func event(key string, n int) inletjs.Event {
	return inletjs.Event{ID: inletjs.MsgID(key, "customer.created", "stripe-production", "production"), Messages: actions(key, n)}
}

// stored returns the messages of stream from sequence 1 on, in stream order.
func stored(t testing.TB, c *inletjs.Client, stream string) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	s, err := c.JetStream().Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := uint64(1); seq <= s.CachedInfo().State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get message %d: %v", seq, err)
		}
		out = append(out, m)
	}
	return out
}

// setupAtomic is setup with the action stream in memory storage, where EnsureStream
// allows atomic batches (as on any replicated stream).
func setupAtomic(t testing.TB) *inletjs.Client {
	t.Helper()
	_, url := natstest.Start(t)
	c := connect(t, url)
	ensure(t, c, inletjs.ActionStreamConfig(inletjs.DefaultActionStream, 24*time.Hour, 1, jetstream.MemoryStorage))
	return c
}

func TestPublishEventsStoresAnEventInOrderUnderOneID(t *testing.T) {
	c := setupAtomic(t)
	events := []inletjs.Event{event("evt_1", 3), event("evt_2", 1), event("evt_3", 2)}

	res, err := c.PublishEvents(ctxT(t, 10*time.Second), events)
	if err != nil {
		t.Fatalf("PublishEvents: %v", err)
	}
	if len(res) != 6 {
		t.Fatalf("got %d results, want one per message (6)", len(res))
	}
	msgs := stored(t, c, inletjs.DefaultActionStream)
	if len(msgs) != 6 {
		t.Fatalf("stream holds %d messages, want 6", len(msgs))
	}
	i := 0
	for _, ev := range events {
		for k, m := range ev.Messages {
			r, got := res[i], msgs[i]
			if r.Err != nil || r.Duplicate || r.Sequence != uint64(i+1) {
				t.Errorf("event %s message %d: result %+v, want stored at sequence %d", ev.ID, k, r, i+1)
			}
			if string(got.Data) != string(m.Data) {
				t.Errorf("sequence %d holds %s, want %s: an event's messages are stored in the order given", i+1, got.Data, m.Data)
			}
			wantID := ""
			switch {
			case len(ev.Messages) == 1:
				wantID = m.MsgID // a message alone goes with its own id
			case k == 0:
				wantID = ev.ID
			}
			if id := got.Header.Get(jetstream.MsgIDHeader); id != wantID {
				t.Errorf("sequence %d has Nats-Msg-Id %q, want %q: one id per event, on its first message", i+1, id, wantID)
			}
			i++
		}
	}

	// A replay of the same events stores nothing and says Duplicate for every message.
	res, err = c.PublishEvents(ctxT(t, 10*time.Second), events)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	for i, r := range res {
		if r.Err != nil || !r.Duplicate {
			t.Errorf("replay result %d = %+v, want Duplicate", i, r)
		}
	}
	if n := streamMsgs(t, c, inletjs.DefaultActionStream); n != 6 {
		t.Errorf("after the replay the stream holds %d messages, want still 6", n)
	}
}

func TestPublishEventsLeavesOutAMessageOverTheMaxPayload(t *testing.T) {
	c := setupAtomic(t)
	ev := event("evt_big", 3)
	ev.Messages[1].Data = []byte(`"` + strings.Repeat("x", int(c.Conn().MaxPayload())) + `"`)

	res, err := c.PublishEvents(ctxT(t, 10*time.Second), []inletjs.Event{ev})
	if err == nil {
		t.Fatal("PublishEvents = nil error, want the message over the max payload reported")
	}
	if res[1].Err == nil || !strings.Contains(res[1].Err.Error(), "maximum payload") {
		t.Errorf("result of the large message = %+v, want the max payload error", res[1])
	}
	for _, i := range []int{0, 2} {
		if res[i].Err != nil {
			t.Errorf("result %d = %+v, want stored: a message that can never be stored does not hold back the others", i, res[i])
		}
	}
	msgs := stored(t, c, inletjs.DefaultActionStream)
	if len(msgs) != 2 || string(msgs[0].Data) != string(ev.Messages[0].Data) || string(msgs[1].Data) != string(ev.Messages[2].Data) {
		t.Errorf("stream holds %d messages, want the first and the third, in order", len(msgs))
	}
}

// On an R1 stream in file storage, where JetStream would stage each atomic batch in
// files of its own, EnsureStream does not allow them: an event's actions are
// published each with its own id derived from the event's, still in order.
func TestPublishEventsOnAnR1FileStream(t *testing.T) {
	c, _ := setup(t)
	info, err := c.JetStream().Stream(ctxT(t, 5*time.Second), inletjs.DefaultActionStream)
	if err != nil {
		t.Fatal(err)
	}
	if info.CachedInfo().Config.AllowAtomicPublish {
		t.Fatal("an R1 file stream allows atomic batches")
	}
	events := []inletjs.Event{event("evt_1", 3), event("evt_2", 2)}
	for round := range 3 { // the first round learns that the stream takes no batches
		want := round == 0
		res, err := c.PublishEvents(ctxT(t, 10*time.Second), events)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, r := range res {
			if r.Err != nil || r.Duplicate == want {
				t.Errorf("round %d result %d = %+v, want Duplicate=%v", round, i, r, !want)
			}
		}
	}
	msgs := stored(t, c, inletjs.DefaultActionStream)
	if len(msgs) != 5 {
		t.Fatalf("stream holds %d messages, want 5 (each action once)", len(msgs))
	}
	pos := map[string]int{}
	for _, m := range msgs {
		var a struct {
			Key string `json:"key"`
			I   int    `json:"i"`
		}
		if err := json.Unmarshal(m.Data, &a); err != nil {
			t.Fatal(err)
		}
		if a.I != pos[a.Key] {
			t.Errorf("%s action %d stored after %d of its actions: an event's actions keep their order", a.Key, a.I, pos[a.Key])
		}
		pos[a.Key]++
	}
}

func TestPublishEventsWithoutAtomicBatchesPublishesInOrder(t *testing.T) {
	c, _ := setup(t)
	// A stream someone created without atomic publish (inlet's operator
	// allows it on the streams it manages; a server before 2.12 cannot).
	cfg := inletjs.ActionStreamConfig("LEGACY", time.Hour, 1, jetstream.FileStorage)
	cfg.Subjects = []string{"legacy.>"}
	cfg.AllowAtomicPublish = false
	if _, err := c.JetStream().CreateStream(ctxT(t, 10*time.Second), cfg); err != nil {
		t.Fatal(err)
	}
	ev := event("evt_legacy", 3)
	for k := range ev.Messages {
		ev.Messages[k].Subject = fmt.Sprintf("legacy.%d", k)
		ev.Messages[k].MsgID = "" // ids derived from the event's
	}

	for attempt, wantDup := range []bool{false, true} {
		res, err := c.PublishEvents(ctxT(t, 10*time.Second), []inletjs.Event{ev})
		if err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		for k, r := range res {
			if r.Err != nil || r.Duplicate != wantDup {
				t.Errorf("attempt %d message %d: %+v, want Duplicate=%v", attempt, k, r, wantDup)
			}
		}
	}
	msgs := stored(t, c, "LEGACY")
	if len(msgs) != 3 {
		t.Fatalf("stream holds %d messages, want 3 (each once)", len(msgs))
	}
	for k, m := range msgs {
		if m.Subject != ev.Messages[k].Subject {
			t.Errorf("sequence %d is %s, want %s", k+1, m.Subject, ev.Messages[k].Subject)
		}
		if id := m.Header.Get(jetstream.MsgIDHeader); id != inletjs.OrderedMsgID(ev.ID, k) {
			t.Errorf("sequence %d has id %q, want %q", k+1, id, inletjs.OrderedMsgID(ev.ID, k))
		}
	}
}
