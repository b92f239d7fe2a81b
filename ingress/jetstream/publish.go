package jetstream

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrUnavailable means JetStream could not be reached or did not acknowledge
// in time: the connection is down, the client is closed, no stream answered,
// too many publishes were pending, or ctx's deadline passed first. A retry may
// succeed, so the ingress answers 503 with Retry-After. Check it with
// [errors.Is]; the underlying cause is wrapped as well.
var ErrUnavailable = errors.New("jetstream unavailable")

// Message is one message to publish.
type Message struct {
	// Subject is the subject to publish on; it must be captured by a stream.
	Subject string
	// MsgID, when not empty, is sent as the Nats-Msg-Id header: the stream
	// stores a message with a given id once per duplicate window. Build it
	// with [MsgID].
	MsgID string
	// Data is the payload.
	Data []byte
	// Header holds extra headers. It is not modified.
	Header nats.Header
}

// Result is the outcome of publishing one [Message].
type Result struct {
	// Stream is the stream that stored the message.
	Stream string
	// Sequence is the message's sequence in Stream; for a duplicate, the
	// sequence of the copy stored earlier.
	Sequence uint64
	// Duplicate reports that a message with the same MsgID was already stored
	// within the duplicate window (by an earlier attempt or another ingress
	// instance), so this one was not stored again.
	Duplicate bool
	// Err is nil when the server acknowledged the message. Otherwise the
	// message may or may not have been stored; publishing it again with the
	// same MsgID settles which.
	Err error
}

// Publisher publishes batches of messages and waits for their acks. [Client]
// implements it; the ingress depends on this interface so that its handlers
// can be tested without a server.
type Publisher interface {
	// PublishAll publishes msgs and waits for their acks; see
	// [Client.PublishAll] for the contract.
	PublishAll(ctx context.Context, msgs []Message) ([]Result, error)
}

var _ Publisher = (*Client)(nil)

// PublishAll publishes msgs asynchronously, each with its MsgID as
// Nats-Msg-Id, and waits until every one is acknowledged or ctx is done. It
// returns one [Result] per message, in order.
//
// The messages are sent in order, on one connection, so a stream stores those
// it captures in that order, with increasing sequences: the ingress passes an
// event's actions in the fixed action order (identify before trigger) and
// relies on it.
//
// The error is nil only when every message was acknowledged (stored now, or
// found Duplicate). Otherwise it says how many were not, and wraps one cause:
// a cause that a retry cannot fix (an invalid subject, a payload over the
// server's limit, a request the server rejected as bad) when there is one,
// else one wrapping [ErrUnavailable] (or [context.Canceled] when ctx was
// canceled). A Result without Err is never reported for a message that was
// not acknowledged.
//
// PublishAll does not wait past ctx's deadline, and fails at once when the
// connection is down or is lost while waiting. It is safe for concurrent use;
// all callers share the client's connection and ack tracking.
func (c *Client) PublishAll(ctx context.Context, msgs []Message) ([]Result, error) {
	results := make([]Result, len(msgs))
	if len(msgs) == 0 {
		return results, nil
	}
	if err := ctx.Err(); err != nil {
		return results, failRest(results, msgs, 0, contextErr(err))
	}
	down := c.downSignal()
	switch st := c.nc.Status(); st {
	case nats.CONNECTED:
	case nats.CLOSED:
		return results, failRest(results, msgs, 0, fmt.Errorf("%w: %w", ErrUnavailable, errClosed))
	default:
		return results, failRest(results, msgs, 0, fmt.Errorf("%w: connection %s: %w", ErrUnavailable, st, nats.ErrDisconnected))
	}

	futures := make([]jetstream.PubAckFuture, len(msgs))
	var stop error // why waiting ends early: ctx done, connection lost, publish failed
	for i := range msgs {
		f, err := c.publishAsync(ctx, &msgs[i])
		if err == nil {
			futures[i] = f
			continue
		}
		results[i].Err = publishErr(msgs[i].Subject, err)
		if errors.Is(results[i].Err, ErrUnavailable) {
			// The rest would fail the same way: do not send them, and do
			// not wait for the acks of those already sent.
			stop = results[i].Err
			for j := i + 1; j < len(msgs); j++ {
				results[j].Err = fmt.Errorf("publish %s: not sent: %w", msgs[j].Subject, stop)
			}
			break
		}
	}

	for i, f := range futures {
		if f == nil {
			continue
		}
		for attempt := 1; stop == nil; attempt++ {
			select {
			case ack := <-f.Ok():
				results[i] = ackResult(ack)
			case err := <-f.Err():
				if inProcess(err) {
					// Another copy with this id is being stored (replicated):
					// send again shortly; its ack then says Duplicate.
					if f, err = c.resend(ctx, down, &msgs[i], attempt); err == nil {
						continue
					}
				}
				results[i].Err = publishErr(msgs[i].Subject, err)
			case <-ctx.Done():
				stop = contextErr(ctx.Err())
			case <-down:
				stop = fmt.Errorf("%w: %w", ErrUnavailable, nats.ErrDisconnected)
			}
			break
		}
		if stop == nil {
			continue
		}
		// Take what has already arrived; the rest count as not acknowledged.
		select {
		case ack := <-f.Ok():
			results[i] = ackResult(ack)
		case err := <-f.Err():
			results[i].Err = publishErr(msgs[i].Subject, err)
		default:
			results[i].Err = fmt.Errorf("publish %s: %w", msgs[i].Subject, stop)
		}
	}
	return results, summarize(results)
}

// errCodeInProcess is JetStream's "duplicate message id is in process": a message
// with the same Nats-Msg-Id is being stored (on a replicated stream, replicated)
// and its outcome is not known yet.
const errCodeInProcess jetstream.ErrorCode = 10158

// maxInProcessAttempts bounds the sends of one message answered errCodeInProcess:
// with resend's waits, about 5 seconds.
const maxInProcessAttempts = 50

// inProcess reports whether err says another copy of the message is being stored.
func inProcess(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeInProcess
}

// resend sends m again after a short wait that grows with attempt, once another
// copy with its id was found in process. It fails with ErrUnavailable after
// maxInProcessAttempts (an error publishErr counts as unavailable), or when ctx
// ends or the connection is lost first.
func (c *Client) resend(ctx context.Context, down <-chan struct{}, m *Message, attempt int) (jetstream.PubAckFuture, error) {
	if attempt >= maxInProcessAttempts {
		return nil, fmt.Errorf("message id %s still in process after %d attempts", m.MsgID, attempt)
	}
	wait := min(time.Duration(attempt)*10*time.Millisecond, 100*time.Millisecond)
	t := time.NewTimer(wait/2 + rand.N(wait/2+1))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-down:
		return nil, nats.ErrDisconnected
	}
	return c.publishAsync(ctx, m)
}

// publishAsync sends one message without waiting for its ack. When the
// client has too many pending publishes it waits for a slot, but not past
// ctx's deadline.
func (c *Client) publishAsync(ctx context.Context, m *Message) (jetstream.PubAckFuture, error) {
	hdr := m.Header
	if m.MsgID != "" {
		hdr = maps.Clone(hdr)
		if hdr == nil {
			hdr = nats.Header{}
		}
		hdr.Set(jetstream.MsgIDHeader, m.MsgID)
	}
	msg := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: hdr}
	if deadline, ok := ctx.Deadline(); ok {
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil, context.DeadlineExceeded
		}
		return c.js.PublishMsgAsync(msg, jetstream.WithStallWait(wait))
	}
	return c.js.PublishMsgAsync(msg)
}

func ackResult(ack *jetstream.PubAck) Result {
	return Result{Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate}
}

// failRest sets err on every result from index from on and returns the
// summary error.
func failRest(results []Result, msgs []Message, from int, err error) error {
	for i := from; i < len(results); i++ {
		results[i].Err = fmt.Errorf("publish %s: %w", msgs[i].Subject, err)
	}
	return summarize(results)
}

// summarize returns nil when every result succeeded, else an error counting
// the failures that wraps the first permanent failure if there is one, else
// the first failure.
func summarize(results []Result) error {
	failed := 0
	var first, permanent error
	for _, r := range results {
		if r.Err == nil {
			continue
		}
		failed++
		if first == nil {
			first = r.Err
		}
		if permanent == nil && !errors.Is(r.Err, ErrUnavailable) && !errors.Is(r.Err, context.Canceled) {
			permanent = r.Err
		}
	}
	if failed == 0 {
		return nil
	}
	if permanent != nil {
		first = permanent
	}
	return fmt.Errorf("%d of %d messages not acknowledged: %w", failed, len(results), first)
}

// publishErr wraps a publish or ack error with the subject and, unless a
// retry cannot help, with ErrUnavailable.
func publishErr(subject string, err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("publish %s: %w", subject, contextErr(err))
	case permanent(err):
		return fmt.Errorf("publish %s: %w", subject, err)
	default:
		return fmt.Errorf("%w: publish %s: %w", ErrUnavailable, subject, err)
	}
}

// permanent reports whether publishing the same message again cannot succeed.
func permanent(err error) bool {
	switch {
	case errors.Is(err, nats.ErrBadSubject),
		errors.Is(err, nats.ErrMaxPayload),
		errors.Is(err, nats.ErrHeadersNotSupported),
		errors.Is(err, nats.ErrInvalidMsg),
		errors.Is(err, jetstream.ErrInvalidOption),
		errors.Is(err, jetstream.ErrAsyncPublishReplySubjectSet):
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code >= 400 && apiErr.Code < 500 && apiErr.ErrorCode != errCodeInProcess
	}
	return false
}

// contextErr wraps a context error: a passed deadline means no ack came in
// time (ErrUnavailable); a cancellation means the caller gave up.
func contextErr(err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("canceled before the ack: %w", err)
	}
	return fmt.Errorf("%w: no ack before the deadline: %w", ErrUnavailable, err)
}

// MsgID returns a deterministic message id for parts: the SHA-256 of the
// parts, each prefixed with its length so that ("a", "bc") and ("ab", "c")
// differ, in unpadded base64url (43 characters of [A-Za-z0-9_-]).
//
// The ingress derives an action's id from the idempotency key, event type,
// SourceEnvironment, environment, mapping and action position, so a replay of
// the same event yields the same ids and the stream's duplicate window
// rejects it.
func MsgID(parts ...string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, p := range parts {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		h.Write([]byte(p))
	}
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0]))
}

// PublishBestEffort sends messages to JetStream subjects without waiting for
// acknowledgements: the server stores what it receives, but nothing tells the caller
// whether it did. It suits records whose loss costs less than the wait, such as the
// event log; never actions. It returns an error, wrapping ErrUnavailable, when the
// connection is down, and then sends nothing more.
func (c *Client) PublishBestEffort(msgs []Message) error {
	for _, m := range msgs {
		msg := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: m.Header}
		if m.MsgID != "" {
			if msg.Header == nil {
				msg.Header = nats.Header{}
			}
			msg.Header.Set(jetstream.MsgIDHeader, m.MsgID)
		}
		if err := c.nc.PublishMsg(msg); err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	return nil
}
