package ingress

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-logr/logr"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/events"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/ratelimit"
	"inlet.dev/inlet/ingress/wire"
)

// refusedHeaderBytes bounds the headers (names and values) stored with a refused
// request: whoever sends it, it cannot make a record larger than this and a little.
const refusedHeaderBytes = 4 << 10

// redactHeaders copies the headers for the event log, each as red.HeaderValue says
// (the values of those that carry credentials redacted). With limit > 0 the names and
// values kept take at most limit bytes, in name order, and truncated reports that
// some were cut.
func redactHeaders(h http.Header, red *config.Redaction, limit int) (out map[string]string, truncated bool) {
	out = make(map[string]string, len(h))
	if limit <= 0 {
		for name, values := range h {
			lower := strings.ToLower(name)
			out[lower] = red.HeaderValue(lower, values)
		}
		return out, false
	}
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names) // what is kept within the limit does not depend on map order
	left := limit
	for _, name := range names {
		lower := strings.ToLower(name)
		value := red.HeaderValue(lower, h[name])
		if left < len(lower) {
			truncated = true
			break
		}
		left -= len(lower)
		if len(value) > left {
			value, truncated = strings.ToValidUTF8(value[:left], ""), true
		}
		left -= len(value)
		out[lower] = value
	}
	return out, truncated
}

// logBatch builds the log messages of one request. It runs on the log writer's
// goroutine, so encoding the records costs the request nothing.
type logBatch func() []jetstream.Message

// logWriter writes event and action logs to JetStream in the background, so that the
// log never delays an answer. When the queue is full, records are dropped and counted.
//
// Refused requests are logged within a budget: refusedLimit per SourceEnvironment, and
// one such budget shared by every request for an unknown endpoint (logged to the pod's
// log only), so that anonymous traffic cannot fill the log stream.
type logWriter struct {
	pub     Publisher
	log     logr.Logger
	metrics *metrics
	queue   chan logBatch
	// linger is how long the writer waits for more records; wake cuts it short once
	// logWakeAt requests wait.
	linger time.Duration
	wake   chan struct{}
	done   chan struct{}
	once   sync.Once
	// closing is set once close has begun: what is left is written with acks.
	closing atomic.Bool
	// maxRecord is the largest record that fits in one NATS message.
	maxRecord     int
	refusedLimit  ratelimit.Limit
	refusedBudget ratelimit.Set[types.NamespacedName]
	unknown       *ratelimit.Bucket
}

// logQueue bounds the requests whose records wait for the log writer: each holds its
// outcome (body, payload, actions) until written, so the queue bounds that memory too
// (about 5 MiB for 1.5 KB events). The writer takes up to 256 at a time; past the
// bound, records are dropped and counted (inlet_ingress_log_records_dropped_total).
const logQueue = 1024

// defaultMaxRecord is NATS's default max_payload, for publishers that do not say.
const defaultMaxRecord = 1 << 20

// newLogWriter starts a log writer that lingers up to linger (logLinger but in tests)
// for more records.
func newLogWriter(pub Publisher, log logr.Logger, m *metrics, refused ratelimit.Limit, now time.Time, linger time.Duration) *logWriter {
	w := &logWriter{
		pub: pub, log: log, metrics: m,
		queue: make(chan logBatch, logQueue), linger: linger, wake: make(chan struct{}, 1), done: make(chan struct{}),
		maxRecord: defaultMaxRecord, refusedLimit: refused, unknown: ratelimit.NewBucket(refused, now),
	}
	if c, ok := pub.(interface{ Conn() *nats.Conn }); ok && c.Conn() != nil && c.Conn().MaxPayload() > 0 {
		w.maxRecord = int(c.Conn().MaxPayload())
	}
	go w.run()
	return w
}

// logLinger is how long the log writer waits for more records once it has fewer than
// logBatchMax, unless logWakeAt requests wait before then: the records of requests
// that arrive meanwhile go in the same write to NATS, so that neither the ingress nor
// NATS wakes for every event's record. The writer sleeps rather than waking for each
// record as it arrives: at one connection that saves 8% of the ingress's CPU per
// request and as much of NATS's (BenchmarkCompare: 20 ms asleep against 2 ms waking
// for each record).
const logLinger = 20 * time.Millisecond

// logWakeAt is how many waiting requests wake the writer before logLinger has passed.
// A waiting request holds its outcome (body, payload, actions), so under load the
// writer must not sleep its whole linger: 20 ms at 64 connections took an ingress with
// 100 mappings from 58–59 to 63–65 MiB (BenchmarkIngressProcessMemory).
const logWakeAt = 64

// logBatchMax bounds the records of one write to NATS.
const logBatchMax = 256

func (w *logWriter) run() {
	defer close(w.done)
	var batch []jetstream.Message
	// take moves what is queued into batch, without waiting, up to logBatchMax; it
	// reports false once the queue is closed and empty.
	take := func() bool {
		for len(batch) < logBatchMax {
			select {
			case next, ok := <-w.queue:
				if !ok {
					return false
				}
				batch = append(batch, next()...)
			default:
				return true
			}
		}
		return true
	}
	linger := time.NewTimer(w.linger)
	linger.Stop()
	for build := range w.queue {
		batch = append(batch[:0], build()...)
		if take() && len(batch) < logBatchMax {
			linger.Reset(w.linger)
			select {
			case <-linger.C:
			case <-w.wake:
				linger.Stop()
			}
			take()
		}
		if err := w.publish(batch); err != nil {
			w.metrics.logDropped.Add(float64(len(batch)))
			w.log.V(1).Info("event log records not stored", "records", len(batch), "error", err.Error())
		}
	}
}

// bestEffortPublisher publishes without waiting for acknowledgements;
// *jetstream.Client is one.
type bestEffortPublisher interface {
	PublishBestEffort(msgs []jetstream.Message) error
}

// publish writes log records. The log is for people, not for the exactly-once
// contract, so when the publisher allows it, records are sent without waiting for
// JetStream's acknowledgements: that halves what the log costs the ingress.
//
// Once the writer is closing (the server stops), the records left are written waiting
// for JetStream's acknowledgements, so that they are stored before the process exits
// and `inlet events` shows every event answered.
func (w *logWriter) publish(batch []jetstream.Message) error {
	if p, ok := w.pub.(bestEffortPublisher); ok && !w.closing.Load() {
		return p.PublishBestEffort(batch)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := w.pub.PublishAll(ctx, batch)
	return err
}

func (w *logWriter) enqueue(build logBatch) {
	defer func() { _ = recover() }() // enqueue after close: the server is stopping
	select {
	case w.queue <- build:
		if len(w.queue) >= logWakeAt {
			select {
			case w.wake <- struct{}{}:
			default: // the writer has been woken already
			}
		}
	default:
		w.metrics.logDropped.Inc()
	}
}

// close stops taking records and waits until the queued ones are written or ctx ends.
func (w *logWriter) close(ctx context.Context) {
	w.once.Do(func() {
		w.closing.Store(true)
		close(w.queue)
		select {
		case w.wake <- struct{}{}: // no need to linger: nothing more comes
		default:
		}
	})
	select {
	case <-w.done:
	case <-ctx.Done():
	}
}

func baseRecord(o *Outcome, id string) wire.EventRecord {
	env := o.Env
	return wire.EventRecord{
		Kind: "event", ID: id, Time: o.Received.UTC(),
		Namespace: env.Key.Namespace, SourceEnvironment: env.Key.Name,
		Source: env.Source, SourceType: string(env.SourceType), Environment: env.Environment,
		Size: len(o.Body),
	}
}

// refused logs a request that was refused (unauthorized, malformed or too_large)
// before its events were known, with its headers cut to refusedHeaderBytes, and within
// the SourceEnvironment's budget of refused records. An unverified body is not worth
// keeping; a verified one that could not be read as events came from the sender, and is
// kept as a JSON string of its bytes (verifiedBody), to show what it sent.
func (w *logWriter) refused(o *Outcome) {
	if ok, _ := w.refusedBudget.Allow(o.Env.Key, w.refusedLimit, o.Received); !ok {
		w.metrics.refusedNotLogged.Inc()
		return
	}
	rec := baseRecord(o, nuid.Next())
	rec.Status, rec.Error, rec.Verified = o.Rejection.Result, o.Rejection.logError(), o.Rejection.Verified
	rec.Headers, rec.HeadersTruncated = redactHeaders(o.Header, o.Env.Redaction, refusedHeaderBytes)
	ns, name := o.Env.Key.Namespace, o.Env.Key.Name
	var body []byte
	if o.Rejection.Verified {
		body = o.Body
	}
	red := o.Env.Redaction
	w.enqueue(func() []jetstream.Message {
		return []jetstream.Message{eventMessage(ns, name, &rec, verifiedBody(body, red), w.maxRecord)}
	})
}

// verifiedBody is what the event log keeps of a verified body that could not be read as
// events: a JSON string of its bytes (invalid UTF-8 replaced), so that the record stays
// JSON. It keeps nothing when the source sends credentials in its payloads
// (config.Redaction.Payload), which a body that is not read cannot be redacted of.
func verifiedBody(body []byte, red *config.Redaction) []byte {
	if len(body) == 0 || (red != nil && len(red.PayloadFields) > 0) {
		return nil
	}
	data, err := json.Marshal(strings.ToValidUTF8(string(body), "\uFFFD"))
	if err != nil {
		return nil
	}
	return data
}

// unknownEndpoint logs a request for a path no SourceEnvironment is served at, to the
// pod's log (it has no place in the event log), within one shared budget.
func (w *logWriter) unknownEndpoint(r *http.Request, now time.Time) {
	if ok, _ := w.unknown.Allow(now); !ok {
		w.metrics.refusedNotLogged.Inc()
		return
	}
	// The namespace and name only: a token in the path may be a real one sent to the
	// wrong place.
	path := "/e/" + r.PathValue("namespace") + "/" + r.PathValue("name")
	if r.PathValue("token") != "" {
		path += "/" + config.Redacted
	}
	if len(path) > 256 {
		path = strings.ToValidUTF8(path[:256], "") + "…"
	}
	w.log.Info("request for an endpoint no SourceEnvironment is served at", "method", r.Method, "path", path)
}

// prune forgets the refused-record budgets of SourceEnvironments no longer served.
func (w *logWriter) prune(snap *config.Snapshot) {
	w.refusedBudget.Retain(func(k types.NamespacedName) bool { return snap.Lookup(k) != nil })
}

// accepted logs each event of a verified request and its actions; status is the
// request's result (accepted, idempotent or unavailable).
func (w *logWriter) accepted(o *Outcome, status string, payloads bool) {
	headers, _ := redactHeaders(o.Header, o.Env.Redaction, 0)
	w.enqueue(func() []jetstream.Message { return acceptedMessages(o, headers, status, payloads, w.maxRecord) })
}

func acceptedMessages(o *Outcome, headers map[string]string, status string, payloads bool, maxRecord int) []jetstream.Message {
	ns, name := o.Env.Key.Namespace, o.Env.Key.Name
	msgs := make([]jetstream.Message, 0, len(o.Events))
	for i := range o.Events {
		ev := &o.Events[i]
		rec := baseRecord(o, ev.ID)
		rec.Type, rec.IdempotencyKey, rec.KeyDropped, rec.UserID = ev.Info.Type, ev.Info.IdempotencyKey, ev.Info.KeyDropped, ev.Info.UserID
		rec.Verified, rec.Status, rec.Headers = true, status, headers
		if ev.settled != nil {
			// A repeat: the first delivery's record holds the payload and the actions.
			rec.Status, rec.Idempotent, rec.Actions, rec.RepeatOf = wire.EventIdempotent, true, int(ev.settled.actions), ev.settled.eventID
			msgs = append(msgs, eventMessage(ns, name, &rec, nil, maxRecord))
			continue
		}
		duplicates := 0
		for _, a := range ev.Actions {
			switch a.Status {
			case wire.ActionFailed:
				rec.Failed++
			case wire.ActionDuplicate:
				duplicates++
				rec.Actions++
			case wire.ActionPublished:
				rec.Actions++
			}
		}
		if len(ev.Actions) > 0 {
			rec.ActionLog = ev.Actions
		}
		rec.Idempotent = status != wire.EventUnavailable && len(ev.Actions) > 0 && duplicates == len(ev.Actions)
		if rec.Idempotent {
			rec.Status = wire.EventIdempotent
		} else if status == wire.EventIdempotent {
			rec.Status = wire.EventAccepted
		}
		var payload []byte
		if payloads {
			payload = rawPayload(o, ev)
		}
		msgs = append(msgs, eventMessage(ns, name, &rec, payload, maxRecord))
	}
	return msgs
}

// rawPayload is the event's payload as received, but for the values of the fields that
// carry the sender's credentials (config.Redaction.Payload): the body itself for a
// request of one event (a form-encoded body as a JSON string of it, so that the record
// stays JSON), re-encoded only for the elements of a batch.
func rawPayload(o *Outcome, ev *Event) stdjson.RawMessage {
	red := o.Env.Redaction // the values of the fields that carry the sender's credentials are not kept
	if len(o.Events) == 1 {
		if events.IsForm(o.Header.Get("Content-Type")) {
			data, err := json.Marshal(string(red.Payload(o.Body, true)))
			if err != nil {
				return nil
			}
			return data
		}
		return stdjson.RawMessage(red.Payload(o.Body, false))
	}
	data, err := json.Marshal(ev.Payload)
	if err != nil {
		return nil
	}
	return red.Payload(data, false)
}

// eventMessage encodes an event record, splicing in the payload as received rather
// than encoding it again. A record that would not fit in maxRecord bytes (one NATS
// message) is kept without its payload, and then without its headers, saying so: a
// near-limit event still gets its record.
func eventMessage(namespace, sourceEnvironment string, rec *wire.EventRecord, payload []byte, maxRecord int) jetstream.Message {
	subject := jetstream.EventLogSubject(namespace, sourceEnvironment, rec.ID)
	payload = bytes.TrimSpace(payload)
	data := appendEventRecord(make([]byte, 0, eventRecordSize(rec, payload)), rec, payload)
	if len(data) > maxRecord && (len(payload) > 0 || len(rec.Payload) > 0) {
		rec.PayloadOmitted, rec.Payload = true, nil
		data = appendEventRecord(data[:0], rec, nil)
	}
	if len(data) > maxRecord {
		rec.Headers, rec.HeadersTruncated = nil, true
		data = appendEventRecord(data[:0], rec, nil)
	}
	return jetstream.Message{Subject: subject, Data: data}
}
