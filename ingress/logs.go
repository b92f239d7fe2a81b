package ingress

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-logr/logr"
	"github.com/nats-io/nuid"

	"inlet.dev/inlet/ingress/jetstream"
)

// Action statuses in the action log.
const (
	actionPublished   = "published"
	actionDuplicate   = "duplicate"
	actionFailed      = "failed"
	actionUnavailable = "unavailable"
)

// EventRecord is one event in the event log, with what became of its actions, on
// inlet.logs.events.<namespace>.<sourceEnvironment>.<event id>: one message per event,
// readable by event id.
type EventRecord struct {
	Kind              string            `json:"kind"` // "event"
	ID                string            `json:"id"`
	Time              time.Time         `json:"time"`
	Namespace         string            `json:"namespace"`
	SourceEnvironment string            `json:"sourceEnvironment"`
	Source            string            `json:"source"`
	SourceType        string            `json:"sourceType"`
	Environment       string            `json:"environment"`
	Type              string            `json:"type,omitempty"`
	IdempotencyKey    string            `json:"idempotencyKey,omitempty"`
	KeyDropped        bool              `json:"keyDropped,omitzero"`
	UserID            string            `json:"userId,omitempty"`
	Verified          bool              `json:"verified"`
	Status            string            `json:"status"`
	Idempotent        bool              `json:"idempotent,omitzero"`
	Actions           int               `json:"actions"`
	Failed            int               `json:"failed,omitzero"`
	Error             string            `json:"error,omitempty"`
	Size              int               `json:"size"`
	Headers           map[string]string `json:"headers,omitempty"`
	// ActionLog holds what became of each action the event produced.
	ActionLog []ActionRecord `json:"actionLog,omitempty"`
	// Payload is the event exactly as received (for a batch, the element).
	Payload stdjson.RawMessage `json:"payload,omitempty"`
}

// ActionRecord is what became of one action: published, a duplicate of one stored
// earlier, failed to build, or not stored because JetStream was unavailable.
type ActionRecord struct {
	EventID           string    `json:"eventId"`
	Time              time.Time `json:"time"`
	Namespace         string    `json:"namespace"`
	SourceEnvironment string    `json:"sourceEnvironment"`
	EventType         string    `json:"eventType"`
	Mapping           string    `json:"mapping"`
	Action            string    `json:"action"`
	Position          int       `json:"position"`
	Subject           string    `json:"subject,omitempty"`
	Stream            string    `json:"stream,omitempty"`
	Sequence          uint64    `json:"sequence,omitzero"`
	Status            string    `json:"status"`
	Error             string    `json:"error,omitempty"`
}

// sensitiveHeaderParts mark headers whose values never reach the event log.
var sensitiveHeaderParts = []string{"signature", "secret", "token", "auth", "cookie", "api-key", "apikey", "password", "credential"}

// redactHeaders copies the headers for the event log, replacing the value of every
// header that may carry a secret, a signature or credentials.
func redactHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for name, values := range h {
		lower := strings.ToLower(name)
		value := strings.Join(values, ", ")
		for _, part := range sensitiveHeaderParts {
			if strings.Contains(lower, part) {
				value = "[redacted]"
				break
			}
		}
		out[lower] = value
	}
	return out
}

// logBatch builds the log messages of one request. It runs on the log writer's
// goroutine, so encoding the records costs the request nothing.
type logBatch func() []jetstream.Message

// logWriter writes event and action logs to JetStream in the background, so that the
// log never delays an answer. When the queue is full, records are dropped and counted.
type logWriter struct {
	pub     Publisher
	log     logr.Logger
	metrics *metrics
	queue   chan logBatch
	done    chan struct{}
	once    sync.Once
}

func newLogWriter(pub Publisher, log logr.Logger, m *metrics) *logWriter {
	w := &logWriter{pub: pub, log: log, metrics: m, queue: make(chan logBatch, 4096), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *logWriter) run() {
	defer close(w.done)
	var batch []jetstream.Message
	for build := range w.queue {
		batch = append(batch[:0], build()...)
		// Take whatever else is waiting, up to a bound, into the same round trip.
	more:
		for len(batch) < 256 {
			select {
			case next, ok := <-w.queue:
				if !ok {
					break more
				}
				batch = append(batch, next()...)
			default:
				break more
			}
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
func (w *logWriter) publish(batch []jetstream.Message) error {
	if p, ok := w.pub.(bestEffortPublisher); ok {
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
	default:
		w.metrics.logDropped.Inc()
	}
}

// close stops taking records and waits until the queued ones are written or ctx ends.
func (w *logWriter) close(ctx context.Context) {
	w.once.Do(func() { close(w.queue) })
	select {
	case <-w.done:
	case <-ctx.Done():
	}
}

func baseRecord(req *request, id string) EventRecord {
	env := req.env
	return EventRecord{
		Kind: "event", ID: id, Time: req.received.UTC(),
		Namespace: env.Key.Namespace, SourceEnvironment: env.Key.Name,
		Source: env.Source, SourceType: string(env.SourceType), Environment: env.Environment,
		Size: len(req.raw),
	}
}

// rejected logs a request that was refused before its events were known, without its
// payload: an unverified body is not worth keeping.
func (w *logWriter) rejected(req *request, h http.Header, reason string) {
	rec := baseRecord(req, nuid.Next())
	rec.Status, rec.Error = resultUnauthorized, reason
	if strings.HasPrefix(reason, "verification failed") {
		rec.Verified = false
	} else {
		rec.Status, rec.Verified = resultMalformed, true
	}
	rec.Headers = redactHeaders(h)
	w.enqueue(func() []jetstream.Message {
		return []jetstream.Message{eventMessage(req.env.Key.Namespace, req.env.Key.Name, &rec, nil)}
	})
}

// accepted logs each event of a verified request and its actions.
func (w *logWriter) accepted(req *request, h http.Header, status string, payloads bool) {
	headers := redactHeaders(h)
	w.enqueue(func() []jetstream.Message { return acceptedMessages(req, headers, status, payloads) })
}

func acceptedMessages(req *request, headers map[string]string, status string, payloads bool) []jetstream.Message {
	ns, name := req.env.Key.Namespace, req.env.Key.Name
	msgs := make([]jetstream.Message, 0, len(req.events))
	for _, ev := range req.events {
		rec := baseRecord(req, ev.id)
		rec.Type, rec.IdempotencyKey, rec.KeyDropped, rec.UserID = ev.info.Type, ev.info.IdempotencyKey, ev.info.KeyDropped, ev.info.UserID
		rec.Verified, rec.Status, rec.Headers = true, status, headers
		duplicates := 0
		rec.ActionLog = make([]ActionRecord, 0, len(ev.actions))
		for _, a := range ev.actions {
			a.Time, a.Namespace, a.SourceEnvironment, a.EventType = rec.Time, ns, name, ev.info.Type
			switch a.Status {
			case actionFailed:
				rec.Failed++
			case actionDuplicate:
				duplicates++
				rec.Actions++
			case actionPublished:
				rec.Actions++
			}
			rec.ActionLog = append(rec.ActionLog, *a)
		}
		rec.Idempotent = status != resultUnavailable && len(ev.actions) > 0 && duplicates == len(ev.actions)
		if rec.Idempotent {
			rec.Status = resultIdempotent
		} else if status == resultIdempotent {
			rec.Status = resultAccepted
		}
		var payload []byte
		if payloads {
			payload = rawPayload(req, ev)
		}
		msgs = append(msgs, eventMessage(ns, name, &rec, payload))
	}
	return msgs
}

// rawPayload is the event's payload as received: the body itself for a request of one
// event, re-encoded only for the elements of a batch.
func rawPayload(req *request, ev *event) stdjson.RawMessage {
	if len(req.events) == 1 {
		return stdjson.RawMessage(req.raw)
	}
	data, err := json.Marshal(ev.payload)
	if err != nil {
		return nil
	}
	return data
}

// eventMessage encodes an event record, splicing in the payload as received rather
// than encoding it again.
func eventMessage(namespace, sourceEnvironment string, rec *EventRecord, payload []byte) jetstream.Message {
	data, _ := json.Marshal(rec)
	if len(payload) > 0 && len(data) > 0 && data[len(data)-1] == '}' {
		data = append(append(append(data[:len(data)-1], `,"payload":`...), bytes.TrimSpace(payload)...), '}')
	}
	return jetstream.Message{Subject: jetstream.EventLogSubject(namespace, sourceEnvironment, rec.ID), Data: data}
}
