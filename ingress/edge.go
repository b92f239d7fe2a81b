package ingress

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/wire"
)

// handleEvent is the data path's edge: it admits the request, reads its body, runs it
// through the core (Process), publishes what the core built, and finishes.
func (s *Server) handleEvent(w http.ResponseWriter, r *http.Request) {
	start := s.opts.Now()
	key := types.NamespacedName{Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	cur := s.current.Load()
	var snap *config.Snapshot
	var settled *settledEvents
	if cur != nil {
		snap, settled = cur.snap, cur.settled
	}
	env := snap.Lookup(key)
	body, rej := s.admit(w, r, snap, key, env, start)
	if rej != nil {
		s.finish(w, r, &Outcome{Env: env, Request: Request{Header: r.Header, Body: body, Received: start}, Rejection: rej})
		return
	}
	if env.Handshake != nil && s.handshake(w, r, env, body, start) {
		return // the sender's endpoint handshake (handshake.go): no event
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.PublishTimeout)
	defer cancel()
	o := Process(ctx, env, Request{
		Header: r.Header, Query: r.URL.Query(), Body: body, Received: start, MaxEvents: s.opts.MaxEventsPerRequest,
		settled: settled,
	})
	switch {
	case o.Rejection != nil:
	case len(o.Messages) == 0: // nothing matched, or every event a repeat
		o.settle(nil, nil, 0)
	default:
		publishStart := time.Now()
		results, err := s.opts.Publisher.PublishEvents(ctx, o.PublishEvents())
		o.settle(results, err, time.Since(publishStart))
	}
	s.finish(w, r, o)
}

// admit checks what needs no body (configuration, endpoint, method, rate limit,
// endpoint token) and reads the body within the SourceEnvironment's limit. A method
// other than POST gets through only to an endpoint whose handshake may use it.
func (s *Server) admit(
	w http.ResponseWriter, r *http.Request, snap *config.Snapshot, key types.NamespacedName, env *config.Environment, now time.Time,
) ([]byte, *Rejection) {
	if snap == nil {
		return nil, notLoaded(s.opts.RetryAfter)
	}
	if env == nil || (!env.UsesEndpointToken && r.PathValue("token") != "") {
		return nil, notFound(key)
	}
	if r.Method != http.MethodPost && (env.Handshake == nil || !env.Handshake.Admits(r.Method)) {
		return nil, badMethod()
	}
	if ok, wait := s.limits.Allow(env.Key, env.RateLimit, now); !ok {
		return nil, rateLimited(wait)
	}
	if env.UsesEndpointToken && !tokenMatches(r.PathValue("token"), env.EndpointToken) {
		return nil, badToken()
	}
	body, err := readBody(w, r, env.MaxBodySize)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge(env.MaxBodySize)
		}
		return nil, unreadable()
	}
	return body, nil
}

// finish is the one place where a request's side effects happen, all derived from its
// outcome: the event log (or, for an unknown endpoint, the pod's log), the metrics, the
// stats, and the answer.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, o *Outcome) {
	status, result, body, wait := o.answer(s.opts.RetryAfter)
	env := o.Env
	switch rej := o.Rejection; {
	case rej != nil && rej.Result == resultNotFound:
		s.logs.unknownEndpoint(r, o.Received)
	case rej != nil:
		if rej.Check != "" {
			s.metrics.verificationFailures.WithLabelValues(rej.Check).Inc()
		}
		if rej.Logged {
			s.logs.refused(o)
		}
	default:
		s.publishedSideEffects(o, result)
	}

	if wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)))
	}
	if rej := o.Rejection; rej != nil && rej.Allow != "" {
		w.Header().Set("Allow", rej.Allow)
	}
	data := append(appendResponse(make([]byte, 0, 128+24*len(body.EventIDs)+len(body.Error)), &body), '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data)

	// Metric labels name configured SourceEnvironments only: a request for any other
	// path is counted under empty labels, so that no one can add series from outside.
	labels := unknownEndpoint
	if env != nil {
		labels = env.Key
	}
	s.metrics.observeRequest(labels, result, status, time.Since(o.Received))
}

// publishedSideEffects writes what a request whose actions were published leaves:
// action metrics, the pod's log for what failed, the stats and the event log.
func (s *Server) publishedSideEffects(o *Outcome, result string) {
	env := o.Env
	if len(o.Messages) > 0 {
		s.metrics.publishDuration.Observe(o.publishDuration.Seconds())
	}
	for e := range o.Events {
		ev := &o.Events[e]
		if ev.settled != nil {
			s.metrics.repeats.WithLabelValues(env.Key.Namespace, env.Key.Name).Inc()
		}
		for _, m := range ev.Matched {
			s.stats.Matched(env.Key, m)
		}
		for a := range ev.Actions {
			rec := &ev.Actions[a]
			s.metrics.actions.WithLabelValues(env.Key.Namespace, env.Key.Name, rec.Action, rec.Status).Inc()
			if rec.Status == wire.ActionFailed && rec.Subject == "" {
				s.log.Info("action failed to build", "sourceEnvironment", env.Key, "mapping", rec.Mapping,
					"action", rec.Action, "position", rec.Position, "error", rec.Error)
			}
		}
	}
	switch {
	case o.retry:
		s.log.Info("JetStream did not acknowledge every action; answering 503 so the sender retries",
			"sourceEnvironment", env.Key, "actions", len(o.Messages), "error", errorString(o.publishErr))
	case o.publishErr != nil:
		// Only faults a retry cannot fix (an action over NATS's max payload, a request
		// JetStream rejects as bad): the sender is not asked to retry for nothing; the
		// actions are marked failed, as a CEL error is, and the event log says why.
		s.log.Error(o.publishErr, "actions not stored: a retry cannot fix it; answering 200 with them marked failed",
			"sourceEnvironment", env.Key, "actions", len(o.Messages))
	}
	if !o.retry {
		s.stats.Record(env.Key, o.Received, len(o.Events), o.actions-o.duplicates)
		o.settled.add(o)
	}
	s.logs.accepted(o, result, *s.opts.LogPayloads)
}

func errorString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
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

// tokenMatches compares the endpoint token in constant time, over digests so that the
// time taken reveals neither the token nor its length.
func tokenMatches(got, want string) bool {
	if want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
