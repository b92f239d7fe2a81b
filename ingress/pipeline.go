package ingress

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nuid"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/celext"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/events"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/provider"
	"inlet.dev/inlet/ingress/verify"
	"inlet.dev/inlet/ingress/wire"
)

// The data path is a pure core and one edge. Process, the core, turns a request's
// bytes and headers into an Outcome: a Rejection, or the events with their action
// records and the messages to publish; it publishes, answers and counts nothing. The
// edge (edge.go: Server.handleEvent) admits the request, reads its body, calls
// Process, publishes the outcome's messages, and then, in one place (Server.finish),
// answers and writes the metrics, the stats and the event log, all derived from the
// outcome. `inlet test` calls Process directly.

// Request is what the core reads of an HTTP request to a SourceEnvironment's endpoint.
type Request struct {
	// Header is the request's headers, as received.
	Header http.Header
	// Query is the URL's query parameters (a verifier may read a token there).
	Query url.Values
	// Body is the raw body, exactly as received: verification reads these bytes.
	Body []byte
	// Received is when the request arrived: the event time, and the time verification
	// checks timestamps against.
	Received time.Time
	// MaxEvents bounds the events in a batch or NDJSON body (1000 when 0).
	MaxEvents int

	// replay, when set, makes the request a stored event run again (replay.go): it was
	// verified when it arrived, so it is not verified again, and its actions' message
	// ids come from the replay.
	replay *replayRequest
	// settled, when set, are the events this server settled recently: an event found
	// there is answered as a repeat without evaluating its mappings (settled.go).
	settled *settledEvents
}

// Outcome is what becomes of one request: refused, or its events and their actions.
type Outcome struct {
	// Env is the SourceEnvironment the request was sent to; nil for a path no
	// SourceEnvironment is served at.
	Env *config.Environment
	Request
	// Rejection, when set, says why the request was refused: nothing is published.
	Rejection *Rejection
	// Events are the request's events (several for a batch), in the body's order.
	Events []Event
	// Messages are the actions to publish, every event's in turn; each event's own are
	// Event.Messages, a window of these.
	Messages []jetstream.Message

	// What publishing said, set by settle.
	publishErr                  error
	publishDuration             time.Duration
	retry                       bool
	actions, duplicates, failed int
	// repeated counts the actions of the events answered as repeats (Event.settled).
	repeated int
}

// Event is one event of a request, with what its mappings made of it.
type Event struct {
	// ID identifies the delivery in the event log (`inlet events --id`).
	ID string
	// Info is what the event says of itself: type, idempotency key, user id.
	Info events.Info
	// Payload is the event, parsed: of a body of one object, only what env.Reads
	// names (events.DecodePaths).
	Payload map[string]any
	// Actions are what became of the event's actions, in publishing order. One whose
	// Status is empty is waiting for its message to be published: the n-th of them is
	// Messages[n].
	Actions []wire.ActionRecord
	// Messages are the event's actions to publish, in order, all or none: what a
	// sender's retry of the event publishes again, under the same DedupID.
	Messages []jetstream.Message
	// DedupID identifies the event in the action stream's duplicate window: its
	// actions are stored once per window under this one id. Empty when idempotency
	// is off or the event has no key.
	DedupID string
	// Matched names the mappings whose when accepted the event.
	Matched []string

	// settled, when set, says the event is a repeat of one whose every action was
	// stored, within its idempotency window: its mappings were not evaluated and
	// nothing of it is published.
	settled *settledEvent
}

// Rejection is a refused request: its answer, and what is counted and logged of it.
type Rejection struct {
	// Status is the HTTP status answered.
	Status int
	// Result counts the request in inlet_ingress_requests_total and, when Logged, is
	// its event record's status.
	Result string
	// Error is the answer's error, without secrets.
	Error string
	// Check is the verification check that failed (missing_signature, mismatch,
	// endpoint_token, ...), for a request refused 401.
	Check string
	// Verified says the request passed verification before it was refused.
	Verified bool
	// Logged says the request gets an event record, within its SourceEnvironment's
	// budget of refused records: one refused for what it carried, not one turned away
	// before it was looked at (rate limited, wrong method).
	Logged bool
	// RetryAfter, when positive, is sent as Retry-After, in whole seconds.
	RetryAfter time.Duration
	// Allow, when set, is sent as Allow.
	Allow string
}

// logError is the error an event record gives for a refused request.
func (r *Rejection) logError() string {
	if r.Check != "" {
		return "verification failed: " + r.Check
	}
	return r.Error
}

// Request results that are counted in metrics but never written to the event log; the
// others are the event statuses of package wire.
const (
	resultNotFound    = "not_found"
	resultBadMethod   = "method_not_allowed"
	resultRateLimited = "rate_limited"
)

// The ways a request is refused.

func notLoaded(retryAfter time.Duration) *Rejection {
	return &Rejection{
		Status: http.StatusServiceUnavailable, Result: wire.EventUnavailable,
		Error: "configuration not loaded yet", RetryAfter: retryAfter,
	}
}

func notFound(key fmt.Stringer) *Rejection {
	return &Rejection{Status: http.StatusNotFound, Result: resultNotFound, Error: fmt.Sprintf("no SourceEnvironment %s is served here", key)}
}

func badMethod() *Rejection {
	return &Rejection{Status: http.StatusMethodNotAllowed, Result: resultBadMethod, Error: "events are sent with POST", Allow: http.MethodPost}
}

func rateLimited(wait time.Duration) *Rejection {
	return &Rejection{Status: http.StatusTooManyRequests, Result: resultRateLimited,
		Error: "too many requests for this endpoint (spec.ingress.rateLimit); retry later", RetryAfter: max(time.Second, wait.Round(time.Second))}
}

func badToken() *Rejection {
	return &Rejection{Status: http.StatusUnauthorized, Result: wire.EventUnauthorized, Check: "endpoint_token", Logged: true,
		Error: "verification failed: the endpoint token is missing or wrong"}
}

func tooLarge(limit int64) *Rejection {
	return &Rejection{Status: http.StatusRequestEntityTooLarge, Result: wire.EventTooLarge, Logged: true,
		Error: fmt.Sprintf("the body is larger than %d bytes", limit)}
}

func unreadable() *Rejection {
	return &Rejection{Status: http.StatusBadRequest, Result: wire.EventMalformed, Error: "the body could not be read"}
}

func unverified(check string) *Rejection {
	return &Rejection{Status: http.StatusUnauthorized, Result: wire.EventUnauthorized, Check: check, Logged: true,
		Error: "verification failed: " + check}
}

func malformed(err error) *Rejection {
	return &Rejection{Status: http.StatusBadRequest, Result: wire.EventMalformed, Verified: true, Logged: true, Error: err.Error()}
}

func notObject() *Rejection {
	return &Rejection{
		Status: http.StatusBadRequest, Result: wire.EventMalformed, Verified: true, Logged: true,
		Error: "each event must be a JSON object",
	}
}

// Process runs a request sent to env through the data path: verify, decode, type each
// event, evaluate the mappings and build the actions' messages. It publishes nothing,
// answers nothing and counts nothing: the outcome says what to do.
func Process(ctx context.Context, env *config.Environment, req Request) *Outcome {
	o := &Outcome{Env: env, Request: req}
	// A replayed event was verified when it arrived: its signature is not stored.
	if req.replay == nil {
		if err := env.Verifier.Verify(&verify.Request{Header: req.Header, Query: req.Query, Body: req.Body}, req.Received); err != nil {
			o.Rejection = unverified(verify.Reason(err))
			return o
		}
	}
	payloads, err := events.DecodePaths(req.Header.Get("Content-Type"), req.Body, cmp.Or(req.MaxEvents, 1000), env.Reads)
	if err != nil {
		o.Rejection = malformed(err)
		return o
	}
	payloads = provider.Expand(env.Describer, payloads) // an Amplitude cohort sync: one event per member
	headers := provider.LowerHeaders(req.Header)
	o.Events = make([]Event, len(payloads))
	var seenKeys map[string]bool
	if len(payloads) > 1 {
		seenKeys = make(map[string]bool, len(payloads))
	}
	for i, p := range payloads {
		obj, ok := p.(map[string]any)
		if !ok {
			o.Rejection = notObject()
			return o
		}
		ev := &o.Events[i]
		if err := describe(ctx, env, ev, req, headers, obj); err != nil {
			o.Rejection = malformed(err)
			return o
		}
		// A key read from a header is the same for every event of a batch: qualify a
		// repeated key with the event's position, so that the batch's events do not
		// de-duplicate each other while a retry of the whole batch still does.
		if k := ev.Info.IdempotencyKey; seenKeys != nil && k != "" {
			if seenKeys[k] {
				ev.Info.IdempotencyKey = k + "#" + strconv.Itoa(i)
			}
			seenKeys[k] = true
		}
		if settled(env, req, ev) {
			continue
		}
		start := len(o.Messages)
		o.Messages = plan(ctx, env, req, headers, ev, o.Messages)
		ev.Messages = o.Messages[start:len(o.Messages):len(o.Messages)]
	}
	return o
}

// settled looks ev up among the events settled recently (settledEvents), and marks it
// a repeat when it is one.
func settled(env *config.Environment, req Request, ev *Event) bool {
	if req.settled == nil || req.replay != nil || !env.IdempotencyEnabled || ev.Info.IdempotencyKey == "" {
		return false
	}
	ev.DedupID = jetstream.MsgID(ev.Info.IdempotencyKey, ev.Info.Type, env.Key.String(), env.Environment)
	s, ok := req.settled.lookup(ev.DedupID, req.Received)
	if ok {
		ev.settled = &s
	}
	return ok
}

// describe finds the event's type, idempotency key and user id, as the Source's
// provider says.
func describe(ctx context.Context, env *config.Environment, ev *Event, req Request, headers map[string]string,
	payload map[string]any) error {
	ev.ID, ev.Payload = nuid.Next(), payload
	info, err := env.Describer.Describe(ctx, provider.Event{
		Payload: payload, Header: req.Header, Headers: headers, RawBody: req.Body, Vars: env.Vars,
	})
	if err != nil {
		return err
	}
	ev.Info = info
	return nil
}

// plan evaluates the mappings for one event and appends its actions' messages to msgs,
// all of the event's actions (across every matching mapping) in the fixed action
// order, recording each in ev.Actions.
func plan(ctx context.Context, env *config.Environment, req Request, headers map[string]string, ev *Event,
	msgs []jetstream.Message) []jetstream.Message {
	vars := &celext.Vars{
		Body: ev.Payload, Headers: headers, RawBody: req.Body, Preprocess: ev.Info.Preprocess, Vars: env.Vars,
		Event: events.Normalize(ev.Info, ev.Payload),
	}
	var planned []plannedAction
	if env.IdentifyUsers && ev.Info.Identify {
		if id, props, ok := events.IdentifyTraits(ev.Payload); ok {
			if ev.Info.UserID != "" {
				id = ev.Info.UserID // the same user the event's user_id names
			}
			planned = append(planned, plannedAction{
				wire.IdentifyUsersMapping, config.Action{Kind: v1alpha1.ActionIdentifyUser},
				map[string]any{"id": id, "properties": props}, nil,
			})
		}
	}
	for _, m := range env.Mappings(ev.Info.Type) {
		if m.When != nil {
			ok, err := m.When.EvalBool(ctx, vars)
			if err != nil {
				planned = append(planned, plannedAction{m.Name, config.Action{}, nil, err})
				continue
			}
			if !ok {
				continue
			}
		}
		ev.Matched = append(ev.Matched, m.Name)
		for _, a := range m.Actions {
			params, err := evalAction(ctx, a, vars)
			planned = append(planned, plannedAction{m.Name, a, params, err})
		}
	}
	sortActions(planned)
	ev.Actions = make([]wire.ActionRecord, 0, len(planned))
	for _, p := range planned {
		msgs = queue(env, req, ev, p, msgs)
	}
	return msgs
}

// queue adds one action of an event: its record, and its message to msgs, or, when it
// failed to build, a failed record alone.
func queue(env *config.Environment, req Request, ev *Event, p plannedAction, msgs []jetstream.Message) []jetstream.Message {
	received := req.Received.UTC()
	ev.Actions = append(ev.Actions, wire.ActionRecord{
		EventID: ev.ID, Time: received, Namespace: env.Key.Namespace, SourceEnvironment: env.Key.Name,
		EventType: ev.Info.Type, Mapping: p.mapping, Action: string(p.action.Kind), Position: p.action.Position,
	})
	rec := &ev.Actions[len(ev.Actions)-1]
	if p.err != nil {
		rec.Status, rec.Error = wire.ActionFailed, p.err.Error()
		return msgs
	}
	// The event is one unit in the stream's duplicate window, under one id; each
	// action still gets a stable id of its own, derived from it, for consumers.
	msgID := ""
	if req.replay != nil {
		// A replay's actions go to the partition of the event's replay key: its
		// de-duplication id when it has a key, as the event's did.
		ev.DedupID, msgID = req.replay.key, req.replay.actionID(p.mapping, p.action.Position)
	} else if env.IdempotencyEnabled && ev.Info.IdempotencyKey != "" {
		if ev.DedupID == "" {
			ev.DedupID = jetstream.MsgID(ev.Info.IdempotencyKey, ev.Info.Type, env.Key.String(), env.Environment)
		}
		msgID = jetstream.MsgID(ev.DedupID, p.mapping, strconv.Itoa(p.action.Position))
	}
	msg := wire.ActionMessage{
		ID:          cmp.Or(msgID, nuid.Next()),
		Action:      string(p.action.Kind),
		Params:      p.params,
		Environment: env.Environment,
		Source: wire.MessageSource{
			Namespace: env.Key.Namespace, Name: env.Source, Type: string(env.SourceType),
			SourceEnvironment: env.Key.Name,
		},
		Mapping:  p.mapping,
		Position: p.action.Position,
		Event: wire.MessageEvent{
			ID: ev.ID, Type: ev.Info.Type, IdempotencyKey: ev.Info.IdempotencyKey,
			UserID: ev.Info.UserID, ReceivedAt: received,
		},
	}
	params, err := appendValue(make([]byte, 0, 256), p.params)
	if err != nil {
		rec.Status, rec.Error = wire.ActionFailed, "encode: "+err.Error()
		return msgs
	}
	data := appendActionMessage(make([]byte, 0, 512+len(params)), &msg, params)
	rec.Subject = jetstream.ActionSubject(env.Environment, string(p.action.Kind))
	if env.Partitions > 1 {
		// Every action of the event, and every delivery of it, goes to the
		// partition of its de-duplication id.
		rec.Subject = jetstream.PartitionSubject(rec.Subject, jetstream.Partition(cmp.Or(ev.DedupID, ev.ID), env.Partitions), env.Partitions)
	}
	return append(msgs, jetstream.Message{Subject: rec.Subject, MsgID: msgID, Data: data})
}

// PublishEvents returns the outcome's messages grouped by event, for
// [Publisher.PublishEvents]: each event's actions are stored all or none, in
// order, under its DedupID.
func (o *Outcome) PublishEvents() []jetstream.Event {
	out := make([]jetstream.Event, 0, len(o.Events))
	for i := range o.Events {
		if ev := &o.Events[i]; len(ev.Messages) > 0 {
			out = append(out, jetstream.Event{ID: ev.DedupID, Messages: ev.Messages})
		}
	}
	return out
}

// settle records what JetStream said of the outcome's messages (results, in
// o.Messages order, and the error PublishEvents returned) in the action records, and
// counts them.
func (o *Outcome) settle(results []jetstream.Result, publishErr error, took time.Duration) {
	o.publishErr, o.publishDuration = publishErr, took
	n := 0
	for e := range o.Events {
		if s := o.Events[e].settled; s != nil {
			o.actions += int(s.actions)
			o.duplicates += int(s.actions)
			o.repeated += int(s.actions)
			continue
		}
		for a := range o.Events[e].Actions {
			rec := &o.Events[e].Actions[a]
			if rec.Status != "" { // failed to build
				o.failed++
				continue
			}
			var res jetstream.Result
			if n < len(results) {
				res = results[n]
			} else if publishErr != nil {
				res.Err = publishErr
			}
			n++
			switch {
			case res.Err != nil && !isRetryable(res.Err):
				rec.Status, rec.Error = wire.ActionFailed, "not stored, and a retry cannot fix it: "+res.Err.Error()
				o.failed++
			case res.Err != nil:
				rec.Status, rec.Error = wire.ActionUnavailable, res.Err.Error()
				o.retry = true
			case res.Duplicate:
				rec.Status, rec.Stream, rec.Sequence = wire.ActionDuplicate, res.Stream, res.Sequence
				o.actions++
				o.duplicates++
			default:
				rec.Status, rec.Stream, rec.Sequence = wire.ActionPublished, res.Stream, res.Sequence
				o.actions++
			}
		}
	}
}

// idempotent says every action of the request was a duplicate: a replay with nothing
// new.
func (o *Outcome) idempotent() bool {
	all := len(o.Messages) + o.repeated
	return all > 0 && o.duplicates == all && o.publishErr == nil
}

// isRetryable reports whether a retry may succeed where this publish failed: JetStream
// was unavailable or did not acknowledge in time, or the request was canceled.
func isRetryable(err error) bool {
	return errors.Is(err, jetstream.ErrUnavailable) || errors.Is(err, context.Canceled)
}

// response is the JSON body of every answer.
type response struct {
	// Events is the number of events in the request (several for a batch).
	Events int `json:"events,omitempty"`
	// EventIDs identify the events in the event log: `inlet events` shows them.
	EventIDs []string `json:"eventIds,omitempty"`
	// Actions is the number of actions stored, Duplicates how many of them were already
	// stored by an earlier delivery, Failed how many could not be built.
	Actions    int `json:"actions"`
	Duplicates int `json:"duplicates,omitempty"`
	Failed     int `json:"failed,omitempty"`
	// Idempotent says every action was a duplicate: a replay with nothing new.
	Idempotent bool `json:"idempotent,omitempty"`
	// Error says what went wrong, without secrets.
	Error string `json:"error,omitempty"`
}

// unacknowledged is the answer's error when JetStream did not acknowledge every
// action.
const unacknowledged = "JetStream did not acknowledge every action; retry later"

// answer is the outcome's answer: its status, its result (the metrics label and the
// event records' status) and its body. retryAfter is what a 503 for JetStream asks.
func (o *Outcome) answer(retryAfter time.Duration) (status int, result string, body response, wait time.Duration) {
	switch {
	case o.Rejection != nil:
		r := o.Rejection
		return r.Status, r.Result, response{Error: r.Error}, r.RetryAfter
	case o.retry:
		return http.StatusServiceUnavailable, wire.EventUnavailable, response{Error: unacknowledged}, retryAfter
	}
	body = response{Events: len(o.Events), Actions: o.actions, Duplicates: o.duplicates, Failed: o.failed, Idempotent: o.idempotent()}
	body.EventIDs = make([]string, len(o.Events))
	for i := range o.Events {
		body.EventIDs[i] = o.Events[i].ID
	}
	result = wire.EventAccepted
	if body.Idempotent {
		result = wire.EventIdempotent
	}
	return http.StatusOK, result, body, 0
}
