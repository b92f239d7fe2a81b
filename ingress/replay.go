package ingress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/wire"
)

// Replay runs stored events through today's configuration. The event log keeps each
// verified event's payload and headers (secrets redacted); a replay reads the records
// a selection names, rebuilds each request from them, runs it through the data path's
// core (Process) without verifying it again, and publishes only the actions the event
// does not already have stored:
//
//   - An action is known by its mapping and its position in the mapping's actions.
//     Stored are those the event's own record says were published (or duplicates of
//     ones stored earlier), and those earlier replays stored, kept in the event's
//     replay ledger ([jetstream.ReplayLogSubject]).
//   - A replayed action's Nats-Msg-Id is derived from the event (its idempotency key,
//     type, SourceEnvironment and environment, as the ingress derives it, or its event
//     id when it has no key) and the action's mapping and position: the id the ingress
//     gives that action. Two replays at once publish the same ids, and the action
//     stream's duplicate window stores each action once.
//   - A replay that publishes something writes an event record of its own, marked with
//     the id of the event it replayed (wire.EventRecord.ReplayOf), and the event's
//     ledger, so that a later replay, even after the duplicate window, adds nothing
//     twice. One that finds nothing new writes nothing.

// ReplayOutcome selects events by what became of them when they arrived.
type ReplayOutcome string

// The outcomes a replay selects by.
const (
	// OutcomeNoActions: nothing was stored for the event (no mapping matched it, or
	// every action failed).
	OutcomeNoActions ReplayOutcome = "no-actions"
	// OutcomeFailed: at least one of its actions failed.
	OutcomeFailed ReplayOutcome = "failed"
	// OutcomeRefused: the request was refused (400, 401, 413). Only a verified one
	// whose payload was kept can be replayed.
	OutcomeRefused ReplayOutcome = "refused"
)

// ReplayOutcomes lists the outcomes a replay selects by.
var ReplayOutcomes = []ReplayOutcome{OutcomeNoActions, OutcomeFailed, OutcomeRefused}

// ReplaySelection says which event log records of a SourceEnvironment a replay reads.
// Every condition given must hold.
type ReplaySelection struct {
	// Since and Until bound when the events were received; zero: no bound.
	Since, Until time.Time
	// Types, when not empty, are the event types (as received) to replay.
	Types []string
	// IDs, when not empty, are the event ids to replay: read by id, without scanning
	// the log.
	IDs []string
	// Outcomes, when not empty, select events by what became of them when they
	// arrived: any of them.
	Outcomes []ReplayOutcome
}

// Why an event that a selection names is not replayed.
const (
	SkipNotVerified = "not verified when it arrived: refused events cannot be replayed"
	SkipNoPayload   = "its payload was not stored (refused before it was read, or too large for one NATS message)"
	SkipIsReplay    = "a replay's own record: replay the event it replayed"
	SkipIsRepeat    = "a repeat of an event whose actions were all stored: replay the first delivery"
	SkipUnavailable = "answered 503 when it arrived: the sender's retry has a record of its own"
	SkipNotFound    = "no such event in the log (expired, or another SourceEnvironment's)"
	SkipUndecodable = "a log record this build cannot read"
	SkipRefusedNow  = "refused by today's configuration"
)

// ReplayedEvent is what a replay made of one event log record.
type ReplayedEvent struct {
	// Original is the record replayed (its payload included).
	Original wire.EventRecord
	// ID is the id of the replay's own event record; empty in a dry run, when skipped,
	// or when the event had nothing new to publish.
	ID string
	// Skipped, when set, says why the event was not replayed; Error adds detail.
	Skipped string
	Error   string
	// Actions are the event's actions under today's mappings, in publishing order.
	Actions []ReplayedAction
}

// ReplayedAction is one action of a replayed event.
type ReplayedAction struct {
	// Record says what became of it: published, duplicate (stored by another replay
	// meanwhile), failed or unavailable; empty in a dry run for one that would be
	// published.
	wire.ActionRecord
	// AlreadyStored says the event had it stored already: it is not published again.
	AlreadyStored bool
	// Message is the action message as published (or, in a dry run, as it would be);
	// nil for one that failed to build.
	Message []byte
}

// ReplaySummary counts what a replay did.
type ReplaySummary struct {
	// Considered counts the records the selection named; Replayed those run through
	// the mappings (in a dry run, that would be).
	Considered, Replayed int
	// Published counts actions stored now (in a dry run, that would be), Duplicate those
	// found stored by another replay meanwhile, AlreadyStored those the events already
	// had, Failed those that failed to build or that JetStream refused for good,
	// Unavailable those JetStream did not acknowledge.
	Published, Duplicate, AlreadyStored, Failed, Unavailable int
	// Skipped counts the records not replayed, by reason.
	Skipped map[string]int
}

// Replayer replays stored events of one SourceEnvironment through its configuration
// of today.
type Replayer struct {
	// Env is the SourceEnvironment, as configured today.
	Env *config.Environment
	// Client reads the log stream and publishes.
	Client *jetstream.Client
	// DryRun runs the events through the mappings and publishes nothing, writes
	// nothing.
	DryRun bool
	// Event, when set, is called with what became of each record considered.
	Event func(*ReplayedEvent)
	// Progress, when set, is called about every ProgressEvery (a second when 0) with
	// the counts so far.
	Progress      func(ReplaySummary)
	ProgressEvery time.Duration
	// PublishTimeout bounds the wait for one event's acknowledgements (10s when 0).
	PublishTimeout time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	sum          ReplaySummary
	lastProgress time.Time
	// planned holds, in a dry run, what earlier events of the run would have stored,
	// by replay key: a second delivery of one event adds nothing.
	planned map[string]map[jetstream.LedgerAction]bool
}

// ErrReplayUnavailable ends a replay when JetStream does not acknowledge an action:
// run it again; what was stored is not stored twice.
var ErrReplayUnavailable = errors.New("JetStream did not acknowledge every action; run the replay again: nothing is stored twice")

// Run replays the records sel names, one at a time, oldest first (or in the order of
// sel.IDs), and returns the counts. It reads the log as a stream: memory does not grow
// with the number of events (in a dry run, only with the events that would publish
// something).
func (r *Replayer) Run(ctx context.Context, sel ReplaySelection) (ReplaySummary, error) {
	r.sum = ReplaySummary{Skipped: map[string]int{}}
	r.planned = map[string]map[jetstream.LedgerAction]bool{}
	r.lastProgress = r.now()
	env := r.Env
	var err error
	if len(sel.IDs) > 0 {
		for _, id := range sel.IDs {
			rec, getErr := r.Client.EventRecord(ctx, env.LogStream, env.Key.Namespace, env.Key.Name, id)
			switch {
			case errors.Is(getErr, jetstream.ErrUndecodable):
				r.skip(&ReplayedEvent{Original: wire.EventRecord{ID: id}}, SkipUndecodable, getErr.Error())
				continue
			case getErr != nil && isNotFound(getErr):
				r.skip(&ReplayedEvent{Original: wire.EventRecord{ID: id}}, SkipNotFound, "")
				continue
			case getErr != nil:
				return r.sum, fmt.Errorf("read event %s: %w", id, getErr)
			}
			if !sel.matches(&rec) {
				continue
			}
			if err = r.one(ctx, &rec); err != nil {
				break
			}
		}
		return r.sum, err
	}
	for stored, readErr := range r.Client.EventRecords(ctx, env.LogStream, env.Key.Namespace, env.Key.Name, sel.Since) {
		switch {
		case errors.Is(readErr, jetstream.ErrUndecodable):
			r.sum.Considered++
			r.sum.Skipped[SkipUndecodable]++
			continue
		case readErr != nil:
			return r.sum, readErr
		}
		rec := &stored.EventRecord
		// Records are stored moments after their events arrive: past until by more than
		// a few minutes, none that follows is in the range.
		if !sel.Until.IsZero() && stored.Stored.After(sel.Until.Add(5*time.Minute)) {
			break
		}
		if !sel.matches(rec) {
			continue
		}
		if err = r.one(ctx, rec); err != nil {
			break
		}
	}
	return r.sum, err
}

// matches reports whether a record is one the selection names.
func (sel *ReplaySelection) matches(rec *wire.EventRecord) bool {
	if !sel.Since.IsZero() && rec.Time.Before(sel.Since) || !sel.Until.IsZero() && rec.Time.After(sel.Until) {
		return false
	}
	if len(sel.Types) > 0 && !slices.Contains(sel.Types, rec.Type) {
		return false
	}
	if len(sel.Outcomes) == 0 {
		return true
	}
	for _, o := range sel.Outcomes {
		switch o {
		case OutcomeNoActions:
			if rec.Actions == 0 && !refusedStatus(rec.Status) {
				return true
			}
		case OutcomeFailed:
			if rec.Failed > 0 {
				return true
			}
		case OutcomeRefused:
			if refusedStatus(rec.Status) {
				return true
			}
		}
	}
	return false
}

func refusedStatus(status string) bool {
	return status == wire.EventUnauthorized || status == wire.EventMalformed || status == wire.EventTooLarge
}

// ReplayKey names an event for replays: the id the ingress gives the event in the
// duplicate window (from its idempotency key, type, SourceEnvironment and environment)
// when it has a key, so that every delivery of the event shares it; else its event id.
// Either way, on a partitioned action stream, the replay's actions go to the partition
// the event's went to.
func ReplayKey(rec *wire.EventRecord) string {
	if rec.IdempotencyKey != "" {
		se := rec.Namespace + "/" + rec.SourceEnvironment
		return jetstream.MsgID(rec.IdempotencyKey, rec.Type, se, rec.Environment)
	}
	return rec.ID
}

// replayRequest is what a replay tells Process of a request: the event's replay key,
// from which its actions' ids derive.
type replayRequest struct {
	key string
}

// actionID is the Nats-Msg-Id of a replayed action: for an event with an idempotency
// key, the id the ingress gives the same action.
func (r *replayRequest) actionID(mapping string, position int) string {
	return jetstream.MsgID(r.key, mapping, strconv.Itoa(position))
}

// one replays one record the selection names.
func (r *Replayer) one(ctx context.Context, rec *wire.EventRecord) error {
	out := &ReplayedEvent{Original: *rec}
	switch {
	case rec.ReplayOf != "":
		r.skip(out, SkipIsReplay, "it replayed "+rec.ReplayOf)
		return nil
	case rec.RepeatOf != "":
		r.skip(out, SkipIsRepeat, "the first delivery is "+rec.RepeatOf)
		return nil
	case !rec.Verified:
		r.skip(out, SkipNotVerified, rec.Error)
		return nil
	case len(rec.Payload) == 0:
		r.skip(out, SkipNoPayload, "")
		return nil
	case rec.Status == wire.EventUnavailable:
		r.skip(out, SkipUnavailable, "")
		return nil
	}
	env := r.Env
	key := ReplayKey(rec)
	ledger, ledgerSeq, err := r.Client.ReplayLedger(ctx, env.LogStream, env.Key.Namespace, env.Key.Name, key)
	if err != nil {
		return fmt.Errorf("event %s: %w", rec.ID, err)
	}
	stored := storedActions(rec, &ledger, r.planned[key])

	header := make(http.Header, len(rec.Headers))
	for name, value := range rec.Headers {
		header.Set(name, value)
	}
	o := Process(ctx, env, Request{Header: header, Body: storedBody(rec.Payload), Received: rec.Time, replay: &replayRequest{key: key}})
	switch {
	case o.Rejection != nil:
		r.skip(out, SkipRefusedNow, o.Rejection.Error)
		return nil
	case len(o.Events) != 1:
		r.skip(out, SkipRefusedNow, fmt.Sprintf("the stored payload holds %d events, not one", len(o.Events)))
		return nil
	}
	ev := &o.Events[0]
	var publish []jetstream.Message
	var fresh []int // indexes in out.Actions of the actions to publish
	n := 0
	for _, a := range ev.Actions {
		ra := ReplayedAction{ActionRecord: a}
		if a.Status == "" {
			ra.Message = ev.Messages[n].Data
			if stored[jetstream.LedgerAction{Mapping: a.Mapping, Position: a.Position}] {
				ra.Status, ra.AlreadyStored = wire.ActionDuplicate, true
				r.sum.AlreadyStored++
			} else {
				fresh = append(fresh, len(out.Actions))
				publish = append(publish, ev.Messages[n])
			}
			n++
		} else {
			r.sum.Failed++
		}
		out.Actions = append(out.Actions, ra)
	}
	r.sum.Considered++
	r.sum.Replayed++
	if r.DryRun {
		r.sum.Published += len(publish)
		if len(fresh) > 0 {
			plan := r.planned[key]
			if plan == nil {
				plan = map[jetstream.LedgerAction]bool{}
				r.planned[key] = plan
			}
			for _, i := range fresh {
				plan[jetstream.LedgerAction{Mapping: out.Actions[i].Mapping, Position: out.Actions[i].Position}] = true
			}
		}
		r.report(out)
		return nil
	}

	if len(publish) == 0 {
		// Nothing new: nothing to publish, nothing to log.
		r.report(out)
		return nil
	}
	out.ID = ev.ID
	unavailable := r.publish(ctx, out, fresh, publish)
	if err := r.remember(ctx, key, out, fresh, ledger, ledgerSeq); err != nil {
		out.Error = err.Error()
	}
	if err := r.writeRecord(ctx, ev, out); err != nil && out.Error == "" {
		out.Error = err.Error()
	}
	r.report(out)
	if unavailable {
		return ErrReplayUnavailable
	}
	return nil
}

// storedBody is the body an event's stored payload stands for: the payload itself, or,
// for a body that is not JSON (a form) kept as a JSON string, that string's bytes.
func storedBody(payload json.RawMessage) []byte {
	if len(payload) > 0 && payload[0] == '"' {
		var s string
		if json.Unmarshal(payload, &s) == nil {
			return []byte(s)
		}
	}
	return payload
}

// storedActions are the actions an event has stored: by its own delivery, by earlier
// replays, and, in a dry run, by earlier events of the run.
func storedActions(rec *wire.EventRecord, ledger *jetstream.ReplayLedger,
	planned map[jetstream.LedgerAction]bool) map[jetstream.LedgerAction]bool {
	stored := make(map[jetstream.LedgerAction]bool, len(rec.ActionLog)+len(ledger.Stored)+len(planned))
	for _, a := range rec.ActionLog {
		if a.Status == wire.ActionPublished || a.Status == wire.ActionDuplicate {
			stored[jetstream.LedgerAction{Mapping: a.Mapping, Position: a.Position}] = true
		}
	}
	for _, a := range ledger.Stored {
		stored[a] = true
	}
	for a := range planned {
		stored[a] = true
	}
	return stored
}

// publish stores the event's new actions, each under its own id, and records what
// JetStream said of each; it reports whether one was not acknowledged.
func (r *Replayer) publish(ctx context.Context, out *ReplayedEvent, fresh []int, msgs []jetstream.Message) (unavailable bool) {
	if len(msgs) == 0 {
		return false
	}
	timeout := r.PublishTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Each action on its own, with its own id, all in flight at once on this
	// connection, which the stream's leader stores in order: a replay of the event
	// with more (or fewer) new actions still finds each one by its id.
	results, err := r.Client.PublishAll(pctx, msgs)
	for k, i := range fresh {
		a := &out.Actions[i]
		var res jetstream.Result
		if k < len(results) {
			res = results[k]
		} else {
			res.Err = err
		}
		switch {
		case res.Err != nil && !isRetryable(res.Err):
			a.Status, a.Error = wire.ActionFailed, "not stored, and a retry cannot fix it: "+res.Err.Error()
			r.sum.Failed++
		case res.Err != nil:
			a.Status, a.Error = wire.ActionUnavailable, res.Err.Error()
			r.sum.Unavailable++
			unavailable = true
		case res.Duplicate:
			a.Status, a.Stream, a.Sequence = wire.ActionDuplicate, res.Stream, res.Sequence
			r.sum.Duplicate++
		default:
			a.Status, a.Stream, a.Sequence = wire.ActionPublished, res.Stream, res.Sequence
			r.sum.Published++
		}
	}
	return unavailable
}

// remember adds what the replay stored to the event's ledger, merging with whatever
// another replay wrote meanwhile.
func (r *Replayer) remember(ctx context.Context, key string, out *ReplayedEvent, fresh []int,
	ledger jetstream.ReplayLedger, seq uint64) error {
	var add []jetstream.LedgerAction
	for _, i := range fresh {
		if a := out.Actions[i]; a.Status == wire.ActionPublished || a.Status == wire.ActionDuplicate {
			add = append(add, jetstream.LedgerAction{Mapping: a.Mapping, Position: a.Position})
		}
	}
	if len(add) == 0 {
		return nil
	}
	env := r.Env
	for range 10 {
		next := jetstream.ReplayLedger{Stored: slices.Clone(ledger.Stored), Replays: append(slices.Clone(ledger.Replays), out.ID)}
		for _, a := range add {
			if !slices.Contains(next.Stored, a) {
				next.Stored = append(next.Stored, a)
			}
		}
		err := r.Client.WriteReplayLedger(ctx, env.LogStream, env.Key.Namespace, env.Key.Name, key, next, seq)
		if !errors.Is(err, jetstream.ErrLedgerMoved) {
			return err
		}
		if ledger, seq, err = r.Client.ReplayLedger(ctx, env.LogStream, env.Key.Namespace, env.Key.Name, key); err != nil {
			return err
		}
	}
	return errors.New("the replay ledger kept changing: another replay of the event is running")
}

// writeRecord logs the replay: an event record of its own, marked with the id of the
// event replayed, with the payload and headers as stored and what became of each action.
func (r *Replayer) writeRecord(ctx context.Context, ev *Event, out *ReplayedEvent) error {
	env, orig := r.Env, &out.Original
	now := r.now().UTC()
	rec := wire.EventRecord{
		Kind: "event", ID: ev.ID, Time: now, Namespace: env.Key.Namespace, SourceEnvironment: env.Key.Name,
		Source: env.Source, SourceType: string(env.SourceType), Environment: env.Environment,
		Type: ev.Info.Type, IdempotencyKey: ev.Info.IdempotencyKey, KeyDropped: ev.Info.KeyDropped, UserID: ev.Info.UserID,
		Verified: true, Status: wire.EventAccepted, ReplayOf: orig.ID, Size: orig.Size, Headers: orig.Headers,
		HeadersTruncated: orig.HeadersTruncated,
	}
	duplicates := 0
	for _, a := range out.Actions {
		ar := a.ActionRecord
		ar.Time = now
		switch ar.Status {
		case wire.ActionPublished:
			rec.Actions++
		case wire.ActionDuplicate:
			rec.Actions++
			duplicates++
		case wire.ActionFailed:
			rec.Failed++
		case wire.ActionUnavailable:
			rec.Status, rec.Error = wire.EventUnavailable, unacknowledged
		}
		rec.ActionLog = append(rec.ActionLog, ar)
	}
	if rec.Status != wire.EventUnavailable && len(out.Actions) > 0 && duplicates == len(out.Actions) {
		rec.Status, rec.Idempotent = wire.EventIdempotent, true
	}
	maxRecord := defaultMaxRecord
	if nc := r.Client.Conn(); nc != nil && nc.MaxPayload() > 0 {
		maxRecord = int(nc.MaxPayload())
	}
	msg := eventMessage(env.Key.Namespace, env.Key.Name, &rec, orig.Payload, maxRecord)
	timeout := r.PublishTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := r.Client.PublishAll(pctx, []jetstream.Message{msg}); err != nil {
		return fmt.Errorf("the replay's event record was not stored: %w", err)
	}
	return nil
}

func (r *Replayer) skip(out *ReplayedEvent, reason, detail string) {
	r.sum.Considered++
	r.sum.Skipped[reason]++
	out.Skipped, out.Error = reason, detail
	r.report(out)
}

func (r *Replayer) report(out *ReplayedEvent) {
	if r.Event != nil {
		r.Event(out)
	}
	r.progress()
}

// progress reports the counts so far, at most about once per ProgressEvery.
func (r *Replayer) progress() {
	if r.Progress == nil {
		return
	}
	every := r.ProgressEvery
	if every <= 0 {
		every = time.Second
	}
	if now := r.now(); now.Sub(r.lastProgress) >= every {
		r.lastProgress = now
		r.Progress(r.sum)
	}
}

func (r *Replayer) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func isNotFound(err error) bool {
	return errors.Is(err, natsjs.ErrMsgNotFound)
}
