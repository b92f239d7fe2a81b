package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
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
