package jetstream_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
	"inlet.dev/inlet/ingress/wire"
)

// EventRecords reads one SourceEnvironment's records from a time on, decoded, up to the
// last stored when it began: records written while it reads (a replay's own) are not
// read, and one it cannot decode is reported without ending the reading.
func TestEventRecords(t *testing.T) {
	_, url := natstest.Start(t)
	c := connect(t, url)
	ensure(t, c, inletjs.LogStreamConfig(inletjs.DefaultLogStream, time.Hour, 1, jetstream.FileStorage))
	ctx := ctxT(t, 30*time.Second)

	record := func(env, id string) inletjs.Message {
		data, _ := json.Marshal(wire.EventRecord{Kind: "event", ID: id, SourceEnvironment: env, Status: wire.EventAccepted})
		return inletjs.Message{Subject: inletjs.EventLogSubject("shop", env, id), Data: data}
	}
	var msgs []inletjs.Message
	for i := range 40 {
		env := "stripe-a"
		if i%2 == 1 {
			env = "stripe-b"
		}
		msgs = append(msgs, record(env, fmt.Sprintf("e%02d", i)))
	}
	msgs = append(msgs, inletjs.Message{Subject: inletjs.EventLogSubject("shop", "stripe-a", "garbage"), Data: []byte("not json")})
	if _, err := c.PublishAll(ctx, msgs); err != nil {
		t.Fatal(err)
	}

	var ids []string
	undecodable := 0
	for rec, err := range c.EventRecords(ctx, inletjs.DefaultLogStream, "shop", "stripe-a", time.Time{}) {
		switch {
		case errors.Is(err, inletjs.ErrUndecodable):
			undecodable++
			continue
		case err != nil:
			t.Fatal(err)
		}
		if len(ids) == 3 {
			// Written while reading: not read.
			if _, err := c.PublishAll(ctx, []inletjs.Message{record("stripe-a", "late")}); err != nil {
				t.Fatal(err)
			}
		}
		if rec.Sequence == 0 || rec.Stored.IsZero() {
			t.Errorf("record %s has no sequence or store time", rec.ID)
		}
		ids = append(ids, rec.ID)
	}
	var want []string
	for i := 0; i < 40; i += 2 {
		want = append(want, fmt.Sprintf("e%02d", i))
	}
	if !slices.Equal(ids, want) || undecodable != 1 {
		t.Errorf("read %v and %d undecodable, want %v and 1", ids, undecodable, want)
	}

	// From a time after every record: none.
	for rec, err := range c.EventRecords(ctx, inletjs.DefaultLogStream, "shop", "stripe-a", time.Now().Add(time.Minute)) {
		t.Errorf("read %s (%v) from a time after every record", rec.ID, err)
	}
	// A SourceEnvironment with no records: none.
	for rec, err := range c.EventRecords(ctx, inletjs.DefaultLogStream, "shop", "nobody", time.Time{}) {
		t.Errorf("read %s (%v) of a SourceEnvironment without records", rec.ID, err)
	}
}

// A replay ledger is written only over the one it was read as: a writer that read an
// older one is told to read again.
func TestReplayLedgerIsWrittenOverWhatWasRead(t *testing.T) {
	_, url := natstest.Start(t)
	c := connect(t, url)
	ensure(t, c, inletjs.LogStreamConfig(inletjs.DefaultLogStream, time.Hour, 1, jetstream.FileStorage))
	ctx := ctxT(t, 30*time.Second)

	l, seq, err := c.ReplayLedger(ctx, inletjs.DefaultLogStream, "shop", "stripe-a", "key")
	if err != nil || seq != 0 || len(l.Stored) != 0 {
		t.Fatalf("no ledger yet: %+v, %d, %v", l, seq, err)
	}
	first := inletjs.ReplayLedger{Stored: []inletjs.LedgerAction{{Mapping: "crm", Position: 0}}, Replays: []string{"r1"}}
	if err := c.WriteReplayLedger(ctx, inletjs.DefaultLogStream, "shop", "stripe-a", "key", first, 0); err != nil {
		t.Fatal(err)
	}
	// Another replay that read no ledger either.
	err = c.WriteReplayLedger(ctx, inletjs.DefaultLogStream, "shop", "stripe-a", "key", inletjs.ReplayLedger{Replays: []string{"r2"}}, 0)
	if !errors.Is(err, inletjs.ErrLedgerMoved) {
		t.Fatalf("a write over a ledger not read: %v, want ErrLedgerMoved", err)
	}
	l, seq, err = c.ReplayLedger(ctx, inletjs.DefaultLogStream, "shop", "stripe-a", "key")
	if err != nil || seq == 0 || !slices.Equal(l.Stored, first.Stored) {
		t.Fatalf("ledger = %+v at %d, %v", l, seq, err)
	}
	second := inletjs.ReplayLedger{Stored: append(l.Stored, inletjs.LedgerAction{Mapping: "receipt", Position: 1}), Replays: []string{"r1", "r2"}}
	if err := c.WriteReplayLedger(ctx, inletjs.DefaultLogStream, "shop", "stripe-a", "key", second, seq); err != nil {
		t.Fatal(err)
	}
	if l, _, _ := c.ReplayLedger(ctx, inletjs.DefaultLogStream, "shop", "stripe-a", "key"); len(l.Stored) != 2 {
		t.Errorf("ledger = %+v, want both actions", l)
	}
	// Another event's ledger is its own.
	if l, seq, _ := c.ReplayLedger(ctx, inletjs.DefaultLogStream, "shop", "stripe-a", "other"); seq != 0 || len(l.Stored) != 0 {
		t.Errorf("another event's ledger = %+v at %d", l, seq)
	}
}
