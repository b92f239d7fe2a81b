package ingress

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/nats-io/nuid"
	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/celext"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/events"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/verify"
)

// Event results, as counted in metrics and written to the event log.
const (
	resultAccepted     = "accepted"
	resultIdempotent   = "idempotent"
	resultUnauthorized = "unauthorized"
	resultMalformed    = "malformed"
	resultTooLarge     = "too_large"
	resultNotFound     = "not_found"
	resultUnavailable  = "unavailable"
	resultBadMethod    = "method_not_allowed"
	resultRateLimited  = "rate_limited"
)

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

// request carries one HTTP request through the pipeline.
type request struct {
	env      *config.Environment
	received time.Time
	headers  map[string]string // lower-case, for CEL
	raw      []byte
	events   []*event
	msgs     []jetstream.Message
	// planned maps each message in msgs to its action record.
	planned []*ActionRecord
	failed  int
}

// event is one event of a request.
type event struct {
	id         string
	info       events.Info
	payload    map[string]any
	normalized map[string]any
	preprocess any
	actions    []*ActionRecord
}

func (s *Server) handleEvent(w http.ResponseWriter, r *http.Request) {
	start := s.opts.Now()
	key := types.NamespacedName{Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	env := s.snapshot.Load().Lookup(key)
	result, status := s.serveEvent(w, r, key, env, start)
	// Metric labels name configured SourceEnvironments only: a request for any other
	// path is counted under empty labels, so that no one can add series from outside.
	labels := unknownEndpoint
	if env != nil {
		labels = env.Key
	}
	s.metrics.observeRequest(labels, result, status, time.Since(start))
}

func (s *Server) serveEvent(w http.ResponseWriter, r *http.Request, key types.NamespacedName, env *config.Environment, start time.Time) (string, int) {
	if s.snapshot.Load() == nil {
		return s.unavailable(w, "configuration not loaded yet")
	}
	if env == nil || (!env.UsesEndpointToken && r.PathValue("token") != "") {
		s.logs.unknownEndpoint(r, start)
		return s.answer(w, resultNotFound, http.StatusNotFound, response{Error: fmt.Sprintf("no SourceEnvironment %s is served here", key)})
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return s.answer(w, resultBadMethod, http.StatusMethodNotAllowed, response{Error: "events are sent with POST"})
	}
	if ok, wait := s.limits.Allow(env.Key, env.RateLimit, start); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(max(time.Second, wait.Round(time.Second))/time.Second)))
		return s.answer(w, resultRateLimited, http.StatusTooManyRequests, response{Error: "too many requests for this endpoint (spec.ingress.rateLimit); retry later"})
	}
	req := &request{env: env, received: start}
	if env.UsesEndpointToken && !tokenMatches(r.PathValue("token"), env.EndpointToken) {
		s.metrics.verificationFailures.WithLabelValues("endpoint_token").Inc()
		s.logs.rejected(req, r.Header, resultUnauthorized, "verification failed: endpoint_token")
		return s.answer(w, resultUnauthorized, http.StatusUnauthorized, response{Error: "verification failed: the endpoint token is missing or wrong"})
	}
	raw, err := readBody(w, r, env.MaxBodySize)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.logs.rejected(req, r.Header, resultTooLarge, fmt.Sprintf("the body is larger than %d bytes", env.MaxBodySize))
			return s.answer(w, resultTooLarge, http.StatusRequestEntityTooLarge, response{Error: fmt.Sprintf("the body is larger than %d bytes", env.MaxBodySize)})
		}
		return s.answer(w, resultMalformed, http.StatusBadRequest, response{Error: "the body could not be read"})
	}
	req.raw = raw
	if err := env.Verifier.Verify(&verify.Request{Header: r.Header, Query: r.URL.Query(), Body: raw}, start); err != nil {
		reason := verify.Reason(err)
		s.metrics.verificationFailures.WithLabelValues(reason).Inc()
		s.logs.rejected(req, r.Header, resultUnauthorized, "verification failed: "+reason)
		return s.answer(w, resultUnauthorized, http.StatusUnauthorized, response{Error: "verification failed: " + reason})
	}
	payloads, err := events.Decode(r.Header.Get("Content-Type"), raw, s.opts.MaxEventsPerRequest)
	if err != nil {
		s.logs.rejected(req, r.Header, resultMalformed, err.Error())
		return s.answer(w, resultMalformed, http.StatusBadRequest, response{Error: err.Error()})
	}
	req.headers = config.LowerHeaders(r.Header)

	ctx, cancel := context.WithTimeout(r.Context(), s.opts.PublishTimeout)
	defer cancel()
	var seenKeys map[string]bool
	if len(payloads) > 1 {
		seenKeys = make(map[string]bool, len(payloads))
	}
	for i, p := range payloads {
		obj, ok := p.(map[string]any)
		if !ok {
			return s.answer(w, resultMalformed, http.StatusBadRequest, response{Error: "each event must be a JSON object"})
		}
		ev, err := s.describe(ctx, req, r.Header, obj)
		if err != nil {
			s.logs.rejected(req, r.Header, resultMalformed, err.Error())
			return s.answer(w, resultMalformed, http.StatusBadRequest, response{Error: err.Error()})
		}
		// A key read from a header is the same for every event of a batch: qualify a
		// repeated key with the event's position, so that the batch's events do not
		// de-duplicate each other while a retry of the whole batch still does.
		if k := ev.info.IdempotencyKey; seenKeys != nil && k != "" {
			if seenKeys[k] {
				ev.info.IdempotencyKey = k + "#" + strconv.Itoa(i)
			}
			seenKeys[k] = true
		}
		req.events = append(req.events, ev)
		s.plan(ctx, req, ev)
	}

	publishStart := time.Now()
	results, err := s.opts.Publisher.PublishAll(ctx, req.msgs)
	s.metrics.publishDuration.Observe(time.Since(publishStart).Seconds())
	if err != nil && retryable(req.msgs, results, err) {
		s.log.Info("JetStream did not acknowledge every action; answering 503 so the sender retries",
			"sourceEnvironment", key, "actions", len(req.msgs), "error", err.Error())
		s.recordActions(req, results, err)
		s.logs.accepted(req, r.Header, resultUnavailable, *s.opts.LogPayloads)
		return s.unavailable(w, "JetStream did not acknowledge every action; retry later")
	}
	if err != nil {
		// Only faults a retry cannot fix (an action over NATS's max payload, a request
		// JetStream rejects as bad): the sender is not asked to retry for nothing; the
		// actions are marked failed, as a CEL error is, and the event log says why.
		s.log.Error(err, "actions not stored: a retry cannot fix it; answering 200 with them marked failed",
			"sourceEnvironment", key, "actions", len(req.msgs))
	}
	resp := s.recordActions(req, results, err)
	result := resultAccepted
	if resp.Idempotent {
		result = resultIdempotent
	}
	s.stats.record(key, start, len(req.events), resp.Actions-resp.Duplicates)
	s.logs.accepted(req, r.Header, result, *s.opts.LogPayloads)
	for _, ev := range req.events {
		resp.EventIDs = append(resp.EventIDs, ev.id)
	}
	resp.Events = len(req.events)
	return s.answer(w, result, http.StatusOK, resp)
}

// describe finds the event's type, idempotency key and user id, and builds the
// normalised event CEL sees as event.
func (s *Server) describe(ctx context.Context, req *request, h http.Header, payload map[string]any) (*event, error) {
	env := req.env
	ev := &event{id: nuid.Next(), payload: payload}
	if env.HTTP == nil {
		info, err := events.Describe(env.SourceType, payload, h)
		if err != nil {
			return nil, err
		}
		ev.info = info
	} else {
		vars := &celext.Vars{Body: payload, Headers: req.headers, RawBody: req.raw, Vars: env.Vars}
		p := env.HTTP
		if p.Preprocess != nil {
			out, err := p.Preprocess.EvalNative(ctx, vars)
			if err != nil {
				return nil, fmt.Errorf("preprocess: %w", err)
			}
			ev.preprocess, vars.Preprocess = out, out
		}
		t, err := p.EventType.EvalString(ctx, vars)
		if err != nil || t == "" {
			return nil, fmt.Errorf("event type not found: %v", orEmpty(err))
		}
		ev.info.Type = t
		if p.IdempotencyKey != nil {
			ev.info.IdempotencyKey, ev.info.KeyDropped = keyOf(p.IdempotencyKey.EvalNative(ctx, vars))
		}
		if p.UserID != nil {
			if id, err := p.UserID.EvalNative(ctx, vars); err == nil {
				ev.info.UserID, _ = events.ID(id)
			}
		}
		ev.info.Data = payload
	}
	ev.normalized = events.Normalize(ev.info, payload)
	return ev, nil
}

// plan evaluates the mappings for one event and queues the actions to publish, all of
// the event's actions (across every matching mapping) in the fixed action order.
func (s *Server) plan(ctx context.Context, req *request, ev *event) {
	env := req.env
	vars := &celext.Vars{Body: ev.payload, Headers: req.headers, RawBody: req.raw, Preprocess: ev.preprocess, Vars: env.Vars, Event: ev.normalized}
	var planned []plannedAction
	if env.IdentifyUsers && ev.info.Identify {
		if id, props, ok := events.IdentifyTraits(ev.payload); ok {
			if ev.info.UserID != "" {
				id = ev.info.UserID // the same user the event's user_id names
			}
			planned = append(planned, plannedAction{"identifyUsers", config.Action{Kind: v1alpha1.ActionIdentifyUser}, map[string]any{"id": id, "properties": props}, nil})
		}
	}
	for _, m := range env.Mappings(ev.info.Type) {
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
		s.stats.matched(env.Key, m.Name)
		for _, a := range m.Actions {
			params, err := evalAction(ctx, a, vars)
			planned = append(planned, plannedAction{m.Name, a, params, err})
		}
	}
	sortActions(planned)
	for _, p := range planned {
		s.queue(req, ev, p.mapping, p.action, p.params, p.err)
	}
}

// queue adds one action to the request: as a message to publish, or, when it failed to
// build, as a failed action record.
func (s *Server) queue(req *request, ev *event, mapping string, a config.Action, params map[string]any, err error) {
	env := req.env
	rec := &ActionRecord{EventID: ev.id, Mapping: mapping, Action: string(a.Kind), Position: a.Position}
	ev.actions = append(ev.actions, rec)
	if err != nil {
		rec.Status, rec.Error = actionFailed, err.Error()
		req.failed++
		s.metrics.actions.WithLabelValues(env.Key.Namespace, env.Key.Name, string(a.Kind), actionFailed).Inc()
		s.log.Info("action failed to build", "sourceEnvironment", env.Key, "mapping", mapping, "action", a.Kind, "position", a.Position, "error", err.Error())
		return
	}
	msgID := ""
	if env.IdempotencyEnabled && ev.info.IdempotencyKey != "" {
		msgID = jetstream.MsgID(ev.info.IdempotencyKey, ev.info.Type, env.Key.String(), env.Environment, mapping, strconv.Itoa(a.Position))
	}
	msg := ActionMessage{
		ID:          cmp.Or(msgID, nuid.Next()),
		Action:      string(a.Kind),
		Params:      params,
		Environment: env.Environment,
		Source: MessageSource{
			Namespace: env.Key.Namespace, Name: env.Source, Type: string(env.SourceType),
			SourceEnvironment: env.Key.Name,
		},
		Mapping:  mapping,
		Position: a.Position,
		Event: MessageEvent{
			ID: ev.id, Type: ev.info.Type, IdempotencyKey: ev.info.IdempotencyKey,
			UserID: ev.info.UserID, ReceivedAt: req.received.UTC(),
		},
	}
	data, err := jsonv2.Marshal(msg)
	if err != nil {
		rec.Status, rec.Error = actionFailed, "encode: "+err.Error()
		req.failed++
		return
	}
	rec.Subject = jetstream.ActionSubject(env.Environment, string(a.Kind))
	req.msgs = append(req.msgs, jetstream.Message{Subject: rec.Subject, MsgID: msgID, Data: data})
	req.planned = append(req.planned, rec)
}

// recordActions fills the action records from JetStream's results and counts them.
func (s *Server) recordActions(req *request, results []jetstream.Result, publishErr error) response {
	resp := response{Failed: req.failed}
	env := req.env
	for i, rec := range req.planned {
		var res jetstream.Result
		if i < len(results) {
			res = results[i]
		} else if publishErr != nil {
			res.Err = publishErr
		}
		switch {
		case res.Err != nil && !isRetryable(res.Err):
			rec.Status, rec.Error = actionFailed, "not stored, and a retry cannot fix it: "+res.Err.Error()
			resp.Failed++
		case res.Err != nil:
			rec.Status, rec.Error = actionUnavailable, res.Err.Error()
		case res.Duplicate:
			rec.Status, rec.Stream, rec.Sequence = actionDuplicate, res.Stream, res.Sequence
			resp.Actions++
			resp.Duplicates++
		default:
			rec.Status, rec.Stream, rec.Sequence = actionPublished, res.Stream, res.Sequence
			resp.Actions++
		}
		s.metrics.actions.WithLabelValues(env.Key.Namespace, env.Key.Name, rec.Action, rec.Status).Inc()
	}
	resp.Idempotent = len(req.planned) > 0 && resp.Duplicates == len(req.planned) && publishErr == nil
	return resp
}

// retryable reports whether publishing msgs failed (err) for a fault a retry can fix
// for at least one of them: JetStream unreachable or too slow. Only then is the answer
// 503; faults a retry cannot fix are answered 200 with the actions marked failed.
func retryable(msgs []jetstream.Message, results []jetstream.Result, err error) bool {
	for i := range msgs {
		e := err
		if i < len(results) {
			e = results[i].Err
		}
		if e != nil && isRetryable(e) {
			return true
		}
	}
	return false
}

// isRetryable reports whether a retry may succeed where this publish failed: JetStream
// was unreachable or did not acknowledge in time, or the request was canceled.
func isRetryable(err error) bool {
	return errors.Is(err, jetstream.ErrUnavailable) || errors.Is(err, context.Canceled)
}

func (s *Server) answer(w http.ResponseWriter, result string, status int, body response) (string, int) {
	data, _ := json.Marshal(body)
	data = append(data, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data)
	return result, status
}

// readBody reads the whole body, at most limit bytes, into a buffer sized from
// Content-Length when the sender gave one.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	if n := r.ContentLength; n > 0 && n <= limit {
		buf := make([]byte, n)
		if _, err := io.ReadFull(body, buf); err != nil {
			return nil, err
		}
		// Content-Length promised n bytes; anything more is a malformed request, which
		// net/http rejects on its own.
		return buf, nil
	}
	return io.ReadAll(body)
}

func (s *Server) unavailable(w http.ResponseWriter, msg string) (string, int) {
	w.Header().Set("Retry-After", strconv.Itoa(int(s.opts.RetryAfter.Round(time.Second)/time.Second)))
	return s.answer(w, resultUnavailable, http.StatusServiceUnavailable, response{Error: msg})
}

// tokenMatches compares the endpoint token in constant time, over digests so that the
// time taken reveals neither the token nor its length.
func tokenMatches(got, want string) bool {
	if want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

func orEmpty(err error) string {
	if err == nil {
		return "the expression returned an empty string"
	}
	return err.Error()
}
