package jetstream

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
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
	// sequence of the copy stored earlier. Both are empty for a message of an
	// event found Duplicate as a whole (an atomic batch), as JetStream does
	// not say where the first copy is.
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

// Event is the messages of one event, published with [Client.PublishEvents]:
// all of them are stored or none, in the order given, and a replay of the event
// is recognised by its one ID.
type Event struct {
	// ID, when not empty, is the event's deduplication id, built with [MsgID]:
	// the stream stores an event with a given ID once per duplicate window.
	// Where the messages are published one by one rather than as a batch, each
	// goes with its own MsgID, or with [OrderedMsgID] of ID when it has none.
	ID string
	// Messages are the event's messages, in the order the stream must keep.
	Messages []Message
}

// Publisher publishes events and waits for their acks. [Client] implements
// it; the ingress depends on this interface so that its handlers can be tested
// without a server.
type Publisher interface {
	// PublishEvents publishes events and waits for their acks; see
	// [Client.PublishEvents] for the contract.
	PublishEvents(ctx context.Context, events []Event) ([]Result, error)
}

var _ Publisher = (*Client)(nil)

// PublishAll publishes msgs, each on its own with its MsgID as Nats-Msg-Id,
// and waits until every one is acknowledged or ctx is done. It returns one
// [Result] per message, in order. It is [Client.PublishEvents] with one event
// per message: the messages are independent of each other (use PublishEvents
// for the actions of one event).
func (c *Client) PublishAll(ctx context.Context, msgs []Message) ([]Result, error) {
	events := make([]Event, len(msgs))
	for i := range msgs {
		events[i] = Event{ID: msgs[i].MsgID, Messages: msgs[i : i+1]}
	}
	return c.PublishEvents(ctx, events)
}

// PublishEvents publishes each event's messages as one unit and waits until
// every one is acknowledged or ctx is done. It returns one [Result] per
// message, events after each other, in order.
//
// An event of several messages is sent as one JetStream atomic batch (NATS
// 2.12 and later, on a stream that allows atomic publish): the stream stores
// all of its messages or none, with consecutive sequences in the order given,
// also while a clustered stream fails over. The event's ID is the Nats-Msg-Id
// of its first message, so the duplicate window holds one id per event, and a
// replay of an event already stored is rejected as a whole and reported
// Duplicate for every message. An event of one message is a plain publish with
// its MsgID (or, without one, the event's ID) as its Nats-Msg-Id.
//
// Where the server cannot take atomic batches (older than 2.12, or the stream
// does not allow them) an event's messages are published one at a time, each
// waiting for the previous one's ack so the order holds, each with its MsgID
// (or, without one, the first with the event's ID and the others with ids
// derived from it: [OrderedMsgID]).
//
// A message over the server's max payload is not sent: its Result says so
// (a fault a retry cannot fix) and the event's other messages are published
// without it. While another copy of the same event is being stored (JetStream's
// "duplicate message id is in process", or a batch it could not take now),
// the event is sent again shortly; its ack then says Duplicate.
//
// The error is nil only when every message was acknowledged (stored now, or
// found Duplicate). Otherwise it says how many were not, and wraps one cause:
// a cause that a retry cannot fix (an invalid subject, a payload over the
// server's limit, a request the server rejected as bad) when there is one,
// else one wrapping [ErrUnavailable] (or [context.Canceled] when ctx was
// canceled). A Result without Err is never reported for a message that was
// not acknowledged.
//
// PublishEvents does not wait past ctx's deadline, and fails at once when the
// connection is down or is lost while waiting. It is safe for concurrent use;
// all callers share the client's connection and ack tracking.
func (c *Client) PublishEvents(ctx context.Context, events []Event) ([]Result, error) {
	total := 0
	for i := range events {
		total += len(events[i].Messages)
	}
	results := make([]Result, total)
	if total == 0 {
		return results, nil
	}
	if err := ctx.Err(); err != nil {
		return results, failAll(results, events, contextErr(err))
	}
	down := c.downSignal()
	switch st := c.nc.Status(); st {
	case nats.CONNECTED:
	case nats.CLOSED:
		return results, failAll(results, events, fmt.Errorf("%w: %w", ErrUnavailable, errClosed))
	default:
		return results, failAll(results, events, fmt.Errorf("%w: connection %s: %w", ErrUnavailable, st, nats.ErrDisconnected))
	}

	p := publication{c: c, ctx: ctx, down: down, results: results, atomic: c.AtomicBatches()}
	units := make([]unit, 0, len(events))
	maxPayload := int(c.nc.MaxPayload())
	first := 0
	for i := range events {
		ev := &events[i]
		u := unit{ev: ev, first: first}
		first += len(ev.Messages)
		if len(ev.Messages) == 0 {
			continue
		}
		u.send = make([]int, 0, len(ev.Messages))
		for k := range ev.Messages {
			if maxPayload > 0 && len(ev.Messages[k].Data) > maxPayload {
				p.fail(&u, k, nats.ErrMaxPayload)
				continue
			}
			u.send = append(u.send, k)
		}
		if len(u.send) > 1 && p.atomic && c.noAtomic(ev.Messages[u.send[0]].Subject) {
			// The stream does not take atomic batches (an R1 stream in file
			// storage, where JetStream would stage each batch in files of its
			// own): each message goes on its own, with its own id, all in
			// flight at once on this connection, which one server stores in
			// order.
			for _, k := range u.send {
				units = append(units, unit{ev: ev, first: u.first, send: []int{k}, split: true})
			}
			continue
		}
		units = append(units, u)
	}

	// Send every unit that can go without waiting, then wait for the acks.
	for i := range units {
		u := &units[i]
		if p.stop != nil {
			p.failUnit(u, fmt.Errorf("not sent: %w", p.stop))
			continue
		}
		if len(u.send) == 0 || p.ordered(u) {
			continue
		}
		if err := p.start(u); err != nil {
			p.failUnit(u, err)
			if errors.Is(err, ErrUnavailable) {
				// The rest would fail the same way: do not send them, and
				// do not wait for the acks of those already sent.
				p.stop = err
			}
		}
	}
	for i := range units {
		u := &units[i]
		switch {
		case len(u.send) == 0:
		case p.ordered(u):
			if p.stop != nil {
				p.failUnit(u, fmt.Errorf("not sent: %w", p.stop))
				continue
			}
			p.publishOrdered(u)
		case u.future != nil:
			p.wait(u)
		}
	}
	return results, summarize(results)
}

// publication is one call of PublishEvents.
type publication struct {
	c       *Client
	ctx     context.Context
	down    <-chan struct{}
	results []Result
	atomic  bool  // the server takes atomic batches
	stop    error // why waiting ends early: ctx done, connection lost, publish failed
}

// unit is one event being published.
type unit struct {
	ev      *Event
	first   int   // the index in results of ev.Messages[0]
	send    []int // the indexes in ev.Messages of the messages to publish
	ordered bool  // published one message at a time: no atomic batches
	split   bool  // one message of an event published on its own, with its own id
	future  jetstream.PubAckFuture
	attempt int
}

// ordered reports whether u's messages are published one at a time.
func (p *publication) ordered(u *unit) bool { return u.ordered || (!p.atomic && len(u.send) > 1) }

// start sends u: one message as a plain publish, several as an atomic batch.
// A message the connection refuses as too large is left out, and the rest
// sent again.
func (p *publication) start(u *unit) error {
	for {
		f, bad, err := p.c.sendUnit(p.ctx, u)
		if err == nil {
			u.future = f
			return nil
		}
		if bad < 0 || !permanent(err) {
			return publishErr(u.ev.Messages[u.send[0]].Subject, err)
		}
		// The batch is abandoned (the server drops it after its timeout):
		// send the others without the message that cannot go.
		p.fail(u, u.send[bad], err)
		u.send = slices.Delete(u.send, bad, bad+1)
		if len(u.send) == 0 {
			return nil
		}
	}
}

// wait waits for u's ack and fills its results, sending u again while the
// server says another copy of it is in process.
func (p *publication) wait(u *unit) {
	f := u.future
	for p.stop == nil {
		select {
		case ack := <-f.Ok():
			p.acked(u, ack)
			return
		case err := <-f.Err():
			switch {
			case retryLater(err):
				if err = p.again(u); err == nil {
					f = u.future
					continue
				}
			case atomicDisabled(err):
				// The stream does not allow atomic batches: nothing of the
				// batch was stored; publish it in order instead, and the
				// next events on its subjects message by message.
				p.c.rememberNoAtomic(u.ev.Messages[u.send[0]].Subject)
				u.ordered = true
				p.publishOrdered(u)
				return
			case batchDuplicate(err):
				p.duplicate(u)
				return
			}
			p.failUnit(u, publishErr(u.ev.Messages[u.send[0]].Subject, err))
			return
		case <-p.ctx.Done():
			p.stop = contextErr(p.ctx.Err())
		case <-p.down:
			p.stop = fmt.Errorf("%w: %w", ErrUnavailable, nats.ErrDisconnected)
		}
	}
	// Take what has already arrived; the rest count as not acknowledged.
	select {
	case ack := <-f.Ok():
		p.acked(u, ack)
	case err := <-f.Err():
		if batchDuplicate(err) {
			p.duplicate(u)
			return
		}
		p.failUnit(u, publishErr(u.ev.Messages[u.send[0]].Subject, err))
	default:
		p.failUnit(u, fmt.Errorf("publish %s: %w", u.ev.Messages[u.send[0]].Subject, p.stop))
	}
}

// again sends u once more after a short wait that grows with its attempts. It
// fails after maxInProcessAttempts (an error publishErr counts as
// unavailable), or when ctx ends or the connection is lost first.
func (p *publication) again(u *unit) error {
	u.attempt++
	if u.attempt >= maxInProcessAttempts {
		return fmt.Errorf("event %s still in process after %d attempts", u.ev.ID, u.attempt)
	}
	wait := min(time.Duration(u.attempt)*10*time.Millisecond, 100*time.Millisecond)
	t := time.NewTimer(wait/2 + rand.N(wait/2+1))
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.ctx.Done():
		return p.ctx.Err()
	case <-p.down:
		return nats.ErrDisconnected
	}
	f, _, err := p.c.sendUnit(p.ctx, u)
	if err != nil {
		return err
	}
	u.future = f
	return nil
}

// acked fills u's results from the ack of its last (or only) message: a batch's
// messages have consecutive sequences ending at the ack's.
func (p *publication) acked(u *unit, ack *jetstream.PubAck) {
	n := uint64(len(u.send))
	for k, i := range u.send {
		seq := ack.Sequence
		if n > 1 && seq >= n {
			seq -= n - 1 - uint64(k)
		}
		p.results[u.first+i] = Result{Stream: ack.Stream, Sequence: seq, Duplicate: ack.Duplicate}
	}
}

// duplicate marks u's messages Duplicate: the server rejected the batch because
// the event's id is in the window. It does not say where the first copy is, so
// Stream and Sequence stay empty.
func (p *publication) duplicate(u *unit) {
	for _, k := range u.send {
		p.results[u.first+k] = Result{Duplicate: true}
	}
}

// publishOrdered publishes u's messages one at a time, each after the previous
// one's ack, the first with the event's ID and the others with ids derived
// from it. It stops at the first message not acknowledged: the rest are not
// sent, so that a later message is never stored before an earlier one.
func (p *publication) publishOrdered(u *unit) {
	for n, k := range u.send {
		m := u.ev.Messages[k]
		m.MsgID = cmp.Or(m.MsgID, OrderedMsgID(u.ev.ID, k))
		one := unit{ev: &Event{ID: m.MsgID, Messages: []Message{m}}, first: u.first + k, send: []int{0}}
		if err := p.start(&one); err != nil {
			p.failUnit(&one, err)
			if errors.Is(err, ErrUnavailable) {
				p.stop = err
			}
		} else if len(one.send) == 1 {
			p.wait(&one)
		}
		if p.results[u.first+k].Err != nil {
			for _, rest := range u.send[n+1:] {
				p.fail(u, rest, fmt.Errorf("not sent after the message before it failed: %w", p.results[u.first+k].Err))
			}
			return
		}
	}
}

// OrderedMsgID returns the Nats-Msg-Id of message k of an event whose messages
// are published one at a time: the event's id for the first, an id derived
// from it for the others; "" when the event has no id.
func OrderedMsgID(eventID string, k int) string {
	if eventID == "" || k == 0 {
		return eventID
	}
	return MsgID(eventID, strconv.Itoa(k))
}

// fail sets the result of u's message k to a failure.
func (p *publication) fail(u *unit, k int, err error) {
	p.results[u.first+k].Err = publishErr(u.ev.Messages[k].Subject, err)
}

// failUnit sets the results of u's messages still to send to err, which must
// already be wrapped as publishErr does.
func (p *publication) failUnit(u *unit, err error) {
	for _, k := range u.send {
		if p.results[u.first+k].Err == nil {
			p.results[u.first+k] = Result{Err: err}
		}
	}
}

// Atomic batch headers (JetStream 2.12).
const (
	batchIDHeader     = "Nats-Batch-Id"
	batchSeqHeader    = "Nats-Batch-Sequence"
	batchCommitHeader = "Nats-Batch-Commit"
)

// sendUnit sends u's messages without waiting for the ack: one message as a
// plain publish with the event's ID, several as an atomic batch under a new
// batch id whose last message commits it and is acknowledged. When a message
// cannot be sent, it returns its index in u.send (or -1 when the failure is not
// about one message) and the error.
func (c *Client) sendUnit(ctx context.Context, u *unit) (jetstream.PubAckFuture, int, error) {
	if len(u.send) == 1 {
		// One message goes with its own id, or the event's; one of an event
		// published message by message with its own, or one derived from the
		// event's.
		m := u.ev.Messages[u.send[0]]
		if u.split {
			m.MsgID = cmp.Or(m.MsgID, OrderedMsgID(u.ev.ID, u.send[0]))
		} else {
			m.MsgID = cmp.Or(m.MsgID, u.ev.ID)
		}
		f, err := c.publishAsync(ctx, &m)
		if err != nil {
			return nil, 0, err
		}
		return f, -1, nil
	}
	batch := nuid.Next()
	for n, k := range u.send {
		m := &u.ev.Messages[k]
		hdr := make(nats.Header, len(m.Header)+4)
		maps.Copy(hdr, m.Header)
		hdr[batchIDHeader] = []string{batch}
		hdr[batchSeqHeader] = []string{strconv.Itoa(n + 1)}
		if n == 0 && u.ev.ID != "" {
			hdr[jetstream.MsgIDHeader] = []string{u.ev.ID}
		}
		msg := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: hdr}
		if n < len(u.send)-1 {
			if err := c.nc.PublishMsg(msg); err != nil {
				return nil, n, err
			}
			continue
		}
		hdr[batchCommitHeader] = []string{"1"}
		f, err := c.asyncWithDeadline(ctx, msg)
		if err != nil {
			return nil, n, err
		}
		return f, -1, nil
	}
	return nil, -1, errors.New("empty batch")
}

// JetStream's answers about a message id or a batch that are not failures.
const (
	// errCodeInProcess is "duplicate message id is in process": a message
	// with the same Nats-Msg-Id is being stored (on a replicated stream,
	// replicated) and its outcome is not known yet.
	errCodeInProcess jetstream.ErrorCode = 10158
	// errCodeAtomicDisabled is "atomic publish is disabled" on the stream.
	errCodeAtomicDisabled jetstream.ErrorCode = 10174
	// errCodeBatchIncomplete is "atomic publish batch is incomplete": the
	// server did not take a message of the batch (too many batches in flight
	// when it began, or it timed out), so it stored none of it.
	errCodeBatchIncomplete jetstream.ErrorCode = 10176
	// errCodeBatchDuplicate is "atomic publish batch contains duplicate
	// message id": the event was stored before, within the window.
	errCodeBatchDuplicate jetstream.ErrorCode = 10201
	// errCodeBatchesInFlight is "atomic publish too many inflight".
	errCodeBatchesInFlight jetstream.ErrorCode = 10210
)

// maxInProcessAttempts bounds the sends of one event answered with a retry
// later code: with again's waits, about 5 seconds.
const maxInProcessAttempts = 50

func apiErrorCode(err error) jetstream.ErrorCode {
	if apiErr, ok := errors.AsType[*jetstream.APIError](err); ok {
		return apiErr.ErrorCode
	}
	return 0
}

// retryLater reports whether err says the event could not be taken now, for a
// reason that resolves itself in moments, and nothing of it was stored.
func retryLater(err error) bool {
	switch apiErrorCode(err) {
	case errCodeInProcess, errCodeBatchIncomplete, errCodeBatchesInFlight:
		return true
	}
	return false
}

func atomicDisabled(err error) bool { return apiErrorCode(err) == errCodeAtomicDisabled }
func batchDuplicate(err error) bool { return apiErrorCode(err) == errCodeBatchDuplicate }

// publishAsync sends one message, with its MsgID as Nats-Msg-Id, without
// waiting for its ack. When the client has too many pending publishes it waits
// for a slot, but not past ctx's deadline.
func (c *Client) publishAsync(ctx context.Context, m *Message) (jetstream.PubAckFuture, error) {
	hdr := m.Header
	if m.MsgID != "" {
		hdr = maps.Clone(hdr)
		if hdr == nil {
			hdr = nats.Header{}
		}
		hdr.Set(jetstream.MsgIDHeader, m.MsgID)
	}
	return c.asyncWithDeadline(ctx, &nats.Msg{Subject: m.Subject, Data: m.Data, Header: hdr})
}

func (c *Client) asyncWithDeadline(ctx context.Context, msg *nats.Msg) (jetstream.PubAckFuture, error) {
	if deadline, ok := ctx.Deadline(); ok {
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil, context.DeadlineExceeded
		}
		return c.js.PublishMsgAsync(msg, jetstream.WithStallWait(wait))
	}
	return c.js.PublishMsgAsync(msg)
}

// noAtomicFor is how long the client remembers that a stream refused an atomic
// batch: a stream scaled to replicas, which then allows them, is used so within it.
const noAtomicFor = time.Minute

// noAtomic reports whether the stream capturing subject refused an atomic batch
// within noAtomicFor.
func (c *Client) noAtomic(subject string) bool {
	v, ok := c.noAtomicSubjects.Load(subject)
	return ok && time.Now().Before(v.(time.Time))
}

func (c *Client) rememberNoAtomic(subject string) {
	c.noAtomicSubjects.Store(subject, time.Now().Add(noAtomicFor))
}

// AtomicBatches reports whether the connected server takes atomic batches
// (NATS 2.12 or later), so that a stream may allow them and an event's actions
// are stored all or none.
func (c *Client) AtomicBatches() bool { return AtomicBatches(c.nc) }

// AtomicBatches reports whether the server nc is connected to takes atomic
// batches: NATS 2.12 or later.
func AtomicBatches(nc *nats.Conn) bool {
	return versionAtLeast(nc.ConnectedServerVersion(), 2, 12)
}

// versionAtLeast reports whether a server version such as "2.12.1" or
// "2.14.0-RC.1" is major.minor or later.
func versionAtLeast(v string, major, minor int) bool {
	maj, rest, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	mi, _, _ := strings.Cut(rest, ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(mi)
	if err1 != nil || err2 != nil {
		return false
	}
	return a > major || (a == major && b >= minor)
}

// failAll sets err on every result and returns the summary error.
func failAll(results []Result, events []Event, err error) error {
	i := 0
	for _, ev := range events {
		for _, m := range ev.Messages {
			results[i].Err = fmt.Errorf("publish %s: %w", m.Subject, err)
			i++
		}
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
	if apiErr, ok := errors.AsType[*jetstream.APIError](err); ok {
		return apiErr.Code >= 400 && apiErr.Code < 500 && !retryLater(err)
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
// event log; never actions. It goes over the bulk connection when the client has one
// (WithBulkConnection). It returns an error, wrapping ErrUnavailable, when the
// connection is down, and then sends nothing more.
func (c *Client) PublishBestEffort(msgs []Message) error {
	nc := c.nc
	if c.bulk != nil && c.bulk.IsConnected() {
		nc = c.bulk
	}
	for _, m := range msgs {
		msg := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: m.Header}
		if m.MsgID != "" {
			if msg.Header == nil {
				msg.Header = nats.Header{}
			}
			msg.Header.Set(jetstream.MsgIDHeader, m.MsgID)
		}
		if err := nc.PublishMsg(msg); err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	return nil
}
