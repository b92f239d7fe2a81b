package ingress

import (
	"encoding/base64"
	"sync"
	"time"

	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/wire"
)

// A sender retries an event it is not sure was received (a timeout, a lost answer),
// and at-least-once senders deliver some events twice. JetStream's duplicate window
// keeps the second copy of each action out of the stream, but finding that out costs
// as much as storing it: the mappings, the messages and a publish each. settledEvents
// remembers, for a while, the events whose every action JetStream acknowledged, so
// that a repeat of one is answered as the window would answer it (every action a
// duplicate) without evaluating the mappings or publishing anything.
//
// It answers only what JetStream would: an entry is made once every action of an
// event was acknowledged (stored, or a duplicate), never for an event with an action
// failed or not acknowledged; it lasts no longer than the SourceEnvironment's
// idempotency window from the first delivery; it is keyed by the event's
// de-duplication id, which names the SourceEnvironment, the environment, the event
// type and the idempotency key; and it belongs to one configuration snapshot, so
// that a changed mapping runs on every delivery after the change. Each ingress
// instance has its own: a repeat sent to another instance takes the full path, and
// JetStream answers it there.
//
// It holds at most max entries (about 100 bytes each); past that the oldest go
// first. Only verified events with an idempotency key reach it.
type settledEvents struct {
	mu      sync.Mutex
	entries map[settledID]settledEvent
	ring    []settledID // keys in insertion order, oldest at next once full
	next    int
	max     int
}

// settledEvent is what is remembered of an event whose actions were all stored.
type settledEvent struct {
	expires int64  // unix nanoseconds: the first delivery plus the idempotency window
	actions uint32 // how many actions it has
	eventID string // the first delivery's event id, in the event log
}

// DefaultSettledEvents is Options.SettledEvents's default: about 1.6 MiB (some 3 MiB of
// resident memory with the garbage collector's headroom), a minute of events at a few
// hundred a second. 32,768 took an ingress with 100 mappings past its 64 MiB memory
// request under load (BenchmarkIngressProcessMemory: 63–65 MiB, against 59–60).
const DefaultSettledEvents = 16 << 10

func newSettledEvents(max int) *settledEvents {
	if max <= 0 {
		return nil
	}
	return &settledEvents{max: max}
}

// settledID keys an entry: the first 128 bits of the event's de-duplication id, a
// SHA-256. Two events of one instance's entries share them with a probability below
// 2^-90, and an entry is only ever answered for the snapshot it was made under.
type settledID [16]byte

// settledKey decodes a de-duplication id (jetstream.MsgID: SHA-256, unpadded
// base64url) and keeps its first 16 bytes.
func settledKey(dedupID string) (settledID, bool) {
	var sum [32]byte
	n, err := base64.RawURLEncoding.Decode(sum[:], []byte(dedupID))
	return settledID(sum[:16]), err == nil && n == len(sum)
}

// lookup returns the settled event of dedupID, if it is remembered and its window has
// not passed at now.
func (s *settledEvents) lookup(dedupID string, now time.Time) (settledEvent, bool) {
	if s == nil {
		return settledEvent{}, false
	}
	k, ok := settledKey(dedupID)
	if !ok {
		return settledEvent{}, false
	}
	s.mu.Lock()
	e, ok := s.entries[k]
	s.mu.Unlock()
	if !ok || now.UnixNano() >= e.expires {
		return settledEvent{}, false
	}
	return e, true
}

// add remembers the events of o whose every action JetStream acknowledged.
func (s *settledEvents) add(o *Outcome) {
	if s == nil || o.retry || o.replay != nil || !o.Env.IdempotencyEnabled {
		return
	}
	for i := range o.Events {
		ev := &o.Events[i]
		if ev.DedupID == "" || ev.settled != nil || !allStored(ev) {
			continue
		}
		k, ok := settledKey(ev.DedupID)
		if !ok {
			continue
		}
		s.put(k, settledEvent{
			expires: o.Received.Add(o.Env.IdempotencyWindow).UnixNano(),
			actions: uint32(len(ev.Actions)), eventID: ev.ID,
		})
	}
}

// allStored says every action of ev was stored or found stored, and it has at least one.
func allStored(ev *Event) bool {
	for _, a := range ev.Actions {
		if a.Status != wire.ActionPublished && a.Status != wire.ActionDuplicate {
			return false
		}
	}
	return len(ev.Actions) > 0
}

func (s *settledEvents) put(k settledID, e settledEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.entries == nil {
		s.entries = make(map[settledID]settledEvent, min(s.max, 1024))
		s.ring = make([]settledID, 0, s.max) // 16 bytes each, allocated once
	}
	if _, ok := s.entries[k]; ok {
		return // the first delivery's entry stays
	}
	if len(s.ring) < s.max {
		s.ring = append(s.ring, k)
	} else {
		delete(s.entries, s.ring[s.next])
		s.ring[s.next] = k
		s.next = (s.next + 1) % s.max
	}
	s.entries[k] = e
}

// served is a configuration snapshot with the events settled under it.
type served struct {
	snap    *config.Snapshot
	settled *settledEvents
}
