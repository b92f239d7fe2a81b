package jetstream_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
)

func TestLastMessages(t *testing.T) {
	_, url := natstest.Start(t)
	c := connect(t, url)
	ensure(t, c, inletjs.LogStreamConfig(inletjs.DefaultLogStream, time.Hour, 1, jetstream.FileStorage))
	ctx := ctxT(t, 60*time.Second)

	// 300 event log records: every 7th from stripe-a, the rest from
	// stripe-b, with an action log after every 10th.
	var msgs []inletjs.Message
	for i := range 300 {
		env := "stripe-b"
		if i%7 == 0 {
			env = "stripe-a"
		}
		msgs = append(msgs, inletjs.Message{
			Subject: inletjs.EventLogSubject("shop", env, fmt.Sprintf("evt.%d", i)),
			Data:    fmt.Appendf(nil, "%d", i),
		})
		if i%10 == 0 {
			msgs = append(msgs, inletjs.Message{
				Subject: inletjs.ActionLogSubject("shop", env, fmt.Sprintf("evt.%d", i)),
				Data:    fmt.Appendf(nil, "action of %d", i),
			})
		}
	}
	res := mustPublish(t, c, msgs)

	// Remove a few records of stripe-a near the end: readers must skip the
	// gaps.
	stream, err := c.JetStream().Stream(ctx, inletjs.DefaultLogStream)
	if err != nil {
		t.Fatal(err)
	}
	deleted := map[uint64]bool{}
	for i := len(msgs) - 1; i >= 0 && len(deleted) < 3; i-- {
		if server.SubjectMatchesFilter(msgs[i].Subject, inletjs.EventLogFilter("shop", "stripe-a")) {
			if err := stream.DeleteMsg(ctx, res[i].Sequence); err != nil {
				t.Fatal(err)
			}
			deleted[res[i].Sequence] = true
		}
	}

	// want returns the sequences of the newest limit records matching filter.
	want := func(filter string, limit int) []uint64 {
		var seqs []uint64
		for i, m := range msgs {
			if (filter == "" || server.SubjectMatchesFilter(m.Subject, filter)) && !deleted[res[i].Sequence] {
				seqs = append(seqs, res[i].Sequence)
			}
		}
		return seqs[max(0, len(seqs)-limit):]
	}

	tests := map[string]struct {
		filter string
		limit  int
	}{
		"newest of a sparse filter":  {filter: inletjs.EventLogFilter("shop", "stripe-a"), limit: 5},
		"newest of a dense filter":   {filter: inletjs.EventLogFilter("shop", "stripe-b"), limit: 5},
		"one":                        {filter: inletjs.EventLogFilter("shop", "stripe-a"), limit: 1},
		"action logs":                {filter: inletjs.ActionLogFilter("shop", "stripe-b"), limit: 4},
		"limit above the count":      {filter: inletjs.EventLogFilter("shop", "stripe-a"), limit: 1000},
		"limit equal to the count":   {filter: inletjs.EventLogFilter("shop", "stripe-a"), limit: len(want(inletjs.EventLogFilter("shop", "stripe-a"), 1000))},
		"whole stream":               {filter: "", limit: 7},
		"all logs of the namespace":  {filter: "inlet.logs.*.shop.>", limit: 30},
		"one exact subject":          {filter: inletjs.EventLogSubject("shop", "stripe-b", "evt.299"), limit: 10},
		"nothing matches":            {filter: inletjs.EventLogFilter("other", "stripe-a"), limit: 10},
		"limit zero":                 {filter: inletjs.EventLogFilter("shop", "stripe-a"), limit: 0},
		"many of a sparse filter":    {filter: inletjs.EventLogFilter("shop", "stripe-a"), limit: 17},
		"all but one, sparse filter": {filter: inletjs.EventLogFilter("shop", "stripe-a"), limit: len(want(inletjs.EventLogFilter("shop", "stripe-a"), 1000)) - 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := c.LastMessages(ctx, inletjs.DefaultLogStream, tc.filter, tc.limit)
			if err != nil {
				t.Fatalf("LastMessages: %v", err)
			}
			var seqs []uint64
			for _, m := range got {
				seqs = append(seqs, m.Sequence)
				if tc.filter != "" && !server.SubjectMatchesFilter(m.Subject, tc.filter) {
					t.Errorf("message %d on %s does not match %s", m.Sequence, m.Subject, tc.filter)
				}
				if m.Time.IsZero() || len(m.Data) == 0 {
					t.Errorf("message %d lacks time or data: %+v", m.Sequence, m)
				}
			}
			if w := want(tc.filter, tc.limit); !slices.Equal(seqs, w) && len(w)+len(seqs) > 0 {
				t.Errorf("LastMessages(%q, %d) sequences = %v, want %v", tc.filter, tc.limit, seqs, w)
			}
		})
	}

	t.Run("unknown stream", func(t *testing.T) {
		_, err := c.LastMessages(ctx, "NOPE", "", 5)
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("LastMessages on an unknown stream = %v, want ErrStreamNotFound", err)
		}
	})

	t.Run("event log by id", func(t *testing.T) {
		m, err := c.EventLog(ctx, inletjs.DefaultLogStream, "shop", "stripe-b", "evt.298")
		if err != nil {
			t.Fatalf("EventLog: %v", err)
		}
		if string(m.Data) != "298" {
			t.Errorf("EventLog data = %q, want 298", m.Data)
		}
		_, err = c.EventLog(ctx, inletjs.DefaultLogStream, "shop", "stripe-b", "evt.1000")
		if !errors.Is(err, jetstream.ErrMsgNotFound) {
			t.Errorf("EventLog of an unknown event = %v, want ErrMsgNotFound", err)
		}
	})

	t.Run("action logs of an event", func(t *testing.T) {
		more := []inletjs.Message{
			{Subject: inletjs.ActionLogSubject("shop", "stripe-b", "evt.290"), Data: []byte("second")},
			{Subject: inletjs.ActionLogSubject("shop", "stripe-b", "evt.290"), Data: []byte("third")},
		}
		mustPublish(t, c, more)
		got, err := c.ActionLogs(ctx, inletjs.DefaultLogStream, "shop", "stripe-b", "evt.290", 10)
		if err != nil {
			t.Fatalf("ActionLogs: %v", err)
		}
		var data []string
		for _, m := range got {
			data = append(data, string(m.Data))
		}
		if w := []string{"action of 290", "second", "third"}; !slices.Equal(data, w) {
			t.Errorf("ActionLogs = %q, want %q", data, w)
		}
	})
}
