package ingress

import (
	"errors"
	"maps"
	"net/http"
	"strconv"
	"time"

	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/provider"
	"inlet.dev/inlet/ingress/verify"
	"inlet.dev/inlet/ingress/wire"
)

// resultHandshake counts an answered endpoint handshake in
// inlet_ingress_requests_total; it is never an event.
const resultHandshake = "handshake"

// handshake asks the SourceEnvironment's handshake (package provider, handshake.go)
// about an admitted request, and reports whether the request is done:
//
//   - a genuine handshake is answered as its sender expects; nothing is published and
//     nothing goes to the event log;
//   - a handshake that is not genuine is refused 401 (and logged as a refused request,
//     as any other 401), one that is not well formed 400;
//   - anything else that is not a POST is refused 405, as without a handshake;
//   - a POST that is no handshake is not done: it goes on as an event.
//
// Every handshake, answered or refused, is counted in inlet_ingress_handshakes_total.
func (s *Server) handshake(w http.ResponseWriter, r *http.Request, env *config.Environment, body []byte, received time.Time) bool {
	hs := env.Handshake
	a, err := hs.Answer(r.Context(), &provider.HandshakeRequest{
		Method: r.Method, Header: r.Header, Query: r.URL.Query(), Body: body, Received: received,
	})
	req := Request{Header: r.Header, Body: body, Received: received}
	switch {
	case err != nil:
		s.metrics.handshakes.WithLabelValues(env.Key.Namespace, env.Key.Name, hs.Type(), "refused").Inc()
		s.finish(w, r, &Outcome{Env: env, Request: req, Rejection: refusedHandshake(hs.Type(), err)})
		return true
	case a == nil && r.Method != http.MethodPost:
		s.finish(w, r, &Outcome{Env: env, Request: req, Rejection: badMethod()})
		return true
	case a == nil:
		return false
	}
	h := w.Header()
	maps.Copy(h, a.Header)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(a.Body)))
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)

	s.metrics.handshakes.WithLabelValues(env.Key.Namespace, env.Key.Name, hs.Type(), "answered").Inc()
	s.metrics.observeRequest(env.Key, resultHandshake, a.Status, time.Since(received))
	// Neither the challenge nor the answer: a token may be a secret's proof.
	s.log.Info("answered the sender's endpoint handshake", "sourceEnvironment", env.Key, "handshake", hs.Type(), "method", r.Method)
	return true
}

// refusedHandshake is the rejection of a handshake that is not genuine (401, logged
// within the refused budget, as any request that fails verification) or not well
// formed (400).
func refusedHandshake(typ string, err error) *Rejection {
	if errors.Is(err, provider.ErrMalformedHandshake) {
		return &Rejection{Status: http.StatusBadRequest, Result: wire.EventMalformed, Error: err.Error()}
	}
	check := verify.Reason(err)
	return &Rejection{Status: http.StatusUnauthorized, Result: wire.EventUnauthorized, Check: check, Logged: true,
		Error: typ + " handshake refused: verification failed: " + check}
}
