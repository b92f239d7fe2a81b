package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"inlet.dev/inlet/ingress/wire"
)

// LastMessages returns up to limit of the most recent messages in stream
// whose subject matches filterSubject (a subject with wildcards; empty
// matches every message), oldest first. It returns nil when nothing matches
// or limit is not positive, and an error wrapping [jetstream.ErrStreamNotFound]
// when the stream does not exist.
//
// It first finds the sequence from which exactly limit messages match, by
// counting matches with short-lived consumers (one probe when the newest
// messages all match, about 2·log2(n/limit) otherwise), then reads forward
// from it with direct gets. Messages stored meanwhile are not included.
func (c *Client) LastMessages(ctx context.Context, stream, filterSubject string, limit int) ([]*jetstream.RawStreamMsg, error) {
	if limit <= 0 {
		return nil, nil
	}
	s, err := c.js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("get stream %s: %w", stream, err)
	}
	state := s.CachedInfo().State
	if state.Msgs == 0 || state.LastSeq == 0 {
		return nil, nil
	}
	first, last := max(state.FirstSeq, 1), state.LastSeq
	want := uint64(limit)

	count := func(seq uint64) (uint64, error) { return countFrom(ctx, s, filterSubject, seq) }
	total, err := count(first)
	if err != nil {
		return nil, err
	}
	if total == 0 {
		return nil, nil
	}
	start := first
	if total > want {
		// Find the largest start with count(start) >= want. count(first) >
		// want, and any start above last+1-want leaves fewer than want
		// sequences, so count(hi) < want for hi = last+2-want.
		lo, hi := first, last+2-want
		// Gallop down from hi, then bisect [lo, hi).
		for step := uint64(1); ; step *= 2 {
			if hi-first <= step {
				break
			}
			probe := hi - step
			n, err := count(probe)
			if err != nil {
				return nil, err
			}
			if n >= want {
				lo = probe
				break
			}
			hi = probe
		}
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			n, err := count(mid)
			if err != nil {
				return nil, err
			}
			if n >= want {
				lo = mid
			} else {
				hi = mid
			}
		}
		start = lo
	}

	subject := filterSubject
	if subject == "" {
		subject = ">"
	}
	out := make([]*jetstream.RawStreamMsg, 0, min(total, want))
	for seq := start; uint64(len(out)) < want && seq <= last; {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("get message %d of %s: %w", seq, stream, err)
		}
		if m.Sequence > last {
			break
		}
		out = append(out, m)
		seq = m.Sequence + 1
	}
	return out, nil
}

// countFrom returns how many messages of s at or after seq match filter, as
// the pending count of a throwaway consumer.
func countFrom(ctx context.Context, s jetstream.Stream, filter string, seq uint64) (uint64, error) {
	cfg := jetstream.ConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       seq,
		AckPolicy:         jetstream.AckNonePolicy,
		MemoryStorage:     true,
		InactiveThreshold: 10 * time.Second,
	}
	if filter != ">" {
		cfg.FilterSubject = filter
	}
	cons, err := s.CreateConsumer(ctx, cfg)
	if err != nil {
		return 0, fmt.Errorf("count messages from %d: %w", seq, err)
	}
	info := cons.CachedInfo()
	// Best effort: the inactive threshold removes it anyway.
	_ = s.DeleteConsumer(ctx, info.Name)
	return info.NumPending, nil
}

// LastForSubject returns the newest message in stream stored on subject,
// which must not contain wildcards. When there is none the error wraps
// [jetstream.ErrMsgNotFound].
func (c *Client) LastForSubject(ctx context.Context, stream, subject string) (*jetstream.RawStreamMsg, error) {
	s, err := c.js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("get stream %s: %w", stream, err)
	}
	m, err := s.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		return nil, fmt.Errorf("get last message on %s: %w", subject, err)
	}
	return m, nil
}

// EventLog returns the newest event log record of the event eventID received
// by a SourceEnvironment, from the log stream logStream. When there is none
// the error wraps [jetstream.ErrMsgNotFound].
func (c *Client) EventLog(ctx context.Context, logStream, namespace, sourceEnvironment, eventID string) (*jetstream.RawStreamMsg, error) {
	return c.LastForSubject(ctx, logStream, EventLogSubject(namespace, sourceEnvironment, eventID))
}

// ActionLogs returns up to limit of the newest action log records of the event
// eventID received by a SourceEnvironment, oldest first.
func (c *Client) ActionLogs(ctx context.Context, logStream, namespace, sourceEnvironment, eventID string,
	limit int) ([]*jetstream.RawStreamMsg, error) {
	return c.LastMessages(ctx, logStream, ActionLogSubject(namespace, sourceEnvironment, eventID), limit)
}

// DecodeEventRecord decodes one event log record. It is the one place that reads the
// log's encoding: every reader of event records goes through it, and depends on
// [wire.EventRecord] alone.
func DecodeEventRecord(data []byte) (wire.EventRecord, error) {
	var rec wire.EventRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return wire.EventRecord{}, fmt.Errorf("%w: %w", ErrUndecodable, err)
	}
	return rec, nil
}

// ErrUndecodable marks a log record that [DecodeEventRecord] cannot read: one that
// inlet did not write, or wrote in an encoding this build does not know.
var ErrUndecodable = errors.New("not an event log record")

// EventRecord returns the newest event log record of the event eventID received by a
// SourceEnvironment, decoded. When there is none the error wraps
// [jetstream.ErrMsgNotFound].
func (c *Client) EventRecord(ctx context.Context, logStream, namespace, sourceEnvironment, eventID string) (wire.EventRecord, error) {
	m, err := c.EventLog(ctx, logStream, namespace, sourceEnvironment, eventID)
	if err != nil {
		return wire.EventRecord{}, err
	}
	return DecodeEventRecord(m.Data)
}

// StoredRecord is an event log record as read from the log stream.
type StoredRecord struct {
	wire.EventRecord
	// Sequence is the record's sequence in the log stream; Stored when it was stored.
	Sequence uint64
	Stored   time.Time
}

// EventRecords reads the event log records of one SourceEnvironment stored at or after
// since (from the first when since is zero), oldest first, up to the last record
// stored when it began: records written meanwhile, a replay's own among them, are not
// read. It streams: a few records are held at a time, however many there are. A
// record that cannot be decoded is yielded with an error wrapping [ErrUndecodable],
// and reading goes on; any other error ends it.
func (c *Client) EventRecords(ctx context.Context, logStream, namespace, sourceEnvironment string,
	since time.Time) iter.Seq2[StoredRecord, error] {
	return func(yield func(StoredRecord, error) bool) {
		s, err := c.js.Stream(ctx, logStream)
		if err != nil {
			yield(StoredRecord{}, fmt.Errorf("get stream %s: %w", logStream, err))
			return
		}
		last := s.CachedInfo().State.LastSeq
		cfg := jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{EventLogFilter(namespace, sourceEnvironment)},
			DeliverPolicy:  jetstream.DeliverAllPolicy,
		}
		if !since.IsZero() {
			cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
		}
		cons, err := s.OrderedConsumer(ctx, cfg)
		if err != nil {
			yield(StoredRecord{}, fmt.Errorf("read %s: %w", logStream, err))
			return
		}
		info, err := cons.Info(ctx)
		if err != nil {
			yield(StoredRecord{}, fmt.Errorf("read %s: %w", logStream, err))
			return
		}
		if last == 0 || info.NumPending == 0 {
			return
		}
		// A few records at a time: each may be as large as a NATS message.
		msgs, err := cons.Messages(jetstream.PullMaxMessages(16))
		if err != nil {
			yield(StoredRecord{}, fmt.Errorf("read %s: %w", logStream, err))
			return
		}
		defer msgs.Stop()
		stop := context.AfterFunc(ctx, msgs.Stop)
		defer stop()
		for {
			m, err := msgs.Next()
			if err != nil {
				if ctx.Err() != nil {
					err = ctx.Err()
				}
				yield(StoredRecord{}, fmt.Errorf("read %s: %w", logStream, err))
				return
			}
			md, err := m.Metadata()
			if err != nil {
				yield(StoredRecord{}, fmt.Errorf("read %s: %w", logStream, err))
				return
			}
			if md.Sequence.Stream > last {
				return
			}
			rec, err := DecodeEventRecord(m.Data())
			if !yield(StoredRecord{EventRecord: rec, Sequence: md.Sequence.Stream, Stored: md.Timestamp}, err) {
				return
			}
			if md.NumPending == 0 || md.Sequence.Stream == last {
				return
			}
		}
	}
}

// ReplayLedger is what replays stored of one event, on [ReplayLogSubject]: the
// actions, each known by its mapping and its position in the mapping's actions. Each
// ledger message holds everything stored so far, so the newest is the whole ledger.
type ReplayLedger struct {
	// Stored are the actions replays stored (or found stored by another replay).
	Stored []LedgerAction `json:"stored"`
	// Replays are the ids of the replays' event records, oldest first.
	Replays []string `json:"replays,omitempty"`
}

// LedgerAction is one action in a [ReplayLedger].
type LedgerAction struct {
	Mapping  string `json:"mapping"`
	Position int    `json:"position"`
}

// ErrLedgerMoved says a replay ledger was written by someone else since it was read:
// read it again and merge.
var ErrLedgerMoved = errors.New("the replay ledger changed since it was read")

// ReplayLedger returns the newest ledger of the event replayKey names and its sequence
// in the log stream: an empty ledger and 0 when no replay stored anything of it.
func (c *Client) ReplayLedger(ctx context.Context, logStream, namespace, sourceEnvironment, replayKey string,
) (ReplayLedger, uint64, error) {
	m, err := c.LastForSubject(ctx, logStream, ReplayLogSubject(namespace, sourceEnvironment, replayKey))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return ReplayLedger{}, 0, nil
	}
	if err != nil {
		return ReplayLedger{}, 0, err
	}
	var l ReplayLedger
	if err := json.Unmarshal(m.Data, &l); err != nil {
		return ReplayLedger{}, 0, fmt.Errorf("replay ledger %s: %w", m.Subject, err)
	}
	return l, m.Sequence, nil
}

// WriteReplayLedger stores the ledger of the event replayKey names, and waits for the
// acknowledgement, provided the newest ledger stored is still the one at sequence
// after (0: none); otherwise the error wraps [ErrLedgerMoved].
func (c *Client) WriteReplayLedger(ctx context.Context, logStream, namespace, sourceEnvironment, replayKey string,
	l ReplayLedger, after uint64) error {
	data, err := json.Marshal(l)
	if err != nil {
		return err
	}
	subject := ReplayLogSubject(namespace, sourceEnvironment, replayKey)
	_, err = c.js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: data},
		jetstream.WithExpectStream(logStream), jetstream.WithExpectLastSequencePerSubject(after))
	switch code := apiErrorCode(err); {
	case err == nil:
		return nil
	case code == jetstream.JSErrCodeStreamWrongLastSequence, code == jetstream.JSErrCodeStreamWrongLastSequenceConstant:
		return fmt.Errorf("%w: %w", ErrLedgerMoved, err)
	}
	return fmt.Errorf("write the replay ledger on %s: %w", subject, err)
}
