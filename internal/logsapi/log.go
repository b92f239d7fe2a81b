package logsapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"inlet.dev/inlet/ingress/jetstream"
)

// scanBudget bounds the records one page reads: a selector that keeps few records
// returns a shorter page, with a continue token, rather than reading the whole stream.
const scanBudget = 5000

// Log reads the event log stream.
type Log struct {
	// JetStream is the JetStream context of the NATS server holding the stream.
	JetStream natsjs.JetStream
	// Stream is the log stream, INLET_LOGS by default.
	Stream string
}

func (l *Log) stream(ctx context.Context) (natsjs.Stream, error) {
	s, err := l.JetStream.Stream(ctx, l.Stream)
	if errors.Is(err, natsjs.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(fmt.Errorf("read log stream %s: %w", l.Stream, err))
	}
	return s, nil
}

// unavailable is the API error of a log stream that cannot be read now: 503, retried.
func unavailable(err error) error {
	return apierrors.NewServiceUnavailable(err.Error())
}

// lastSeq is the sequence of the stream's newest record, 0 when there is none.
func (l *Log) lastSeq(ctx context.Context) (uint64, error) {
	s, err := l.stream(ctx)
	if s == nil || err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, unavailable(fmt.Errorf("read log stream %s: %w", l.Stream, err))
	}
	return info.State.LastSeq, nil
}

// startAt is the first sequence to read for q: the first record at or after
// q.since, or after, the first record of the stream.
func (l *Log) startAt(ctx context.Context, s natsjs.Stream, q *query) (uint64, error) {
	if q.since.IsZero() {
		return 1, nil
	}
	since := q.since
	cons, err := s.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{
		FilterSubjects: []string{q.subject()},
		DeliverPolicy:  natsjs.DeliverByStartTimePolicy,
		OptStartTime:   &since,
	})
	if err != nil {
		return 0, unavailable(fmt.Errorf("find the records since %s: %w", since.Format(time.RFC3339), err))
	}
	batch, err := cons.FetchNoWait(1)
	if err != nil {
		return 0, unavailable(fmt.Errorf("find the records since %s: %w", since.Format(time.RFC3339), err))
	}
	for m := range batch.Messages() {
		if md, err := m.Metadata(); err == nil {
			return md.Sequence.Stream, nil
		}
	}
	// None at or after since.
	return 0, nil
}

// scan reads the records of q from sequence start up to last, oldest first, handing
// each to visit until visit says the page is full or scanBudget records were read.
// It returns the sequence to continue from, 0 when every record up to last was read.
func (l *Log) scan(ctx context.Context, q *query, start, last uint64, visit func(*record) (full bool)) (uint64, error) {
	s, err := l.stream(ctx)
	if s == nil || err != nil {
		return 0, err
	}
	if start == 0 {
		if start, err = l.startAt(ctx, s, q); err != nil || start == 0 {
			return 0, err
		}
	}
	subject := q.subject()
	for seq, read := start, 0; seq <= last; read++ {
		if read == scanBudget {
			return seq, nil
		}
		m, err := s.GetMsg(ctx, seq, natsjs.WithGetMsgSubject(subject))
		if errors.Is(err, natsjs.ErrMsgNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, unavailable(fmt.Errorf("read record %d of %s: %w", seq, l.Stream, err))
		}
		if m.Sequence > last {
			return 0, nil
		}
		seq = m.Sequence + 1
		r, ok := decode(m.Sequence, m.Data)
		if !ok {
			continue
		}
		if q.pastUntil(r.Time) {
			return 0, nil
		}
		if visit(r) {
			if seq > last {
				return 0, nil
			}
			return seq, nil
		}
	}
	return 0, nil
}

// get returns the newest record of the event eventID in a namespace, or NotFound.
func (l *Log) get(ctx context.Context, namespace, eventID string, gr schema.GroupResource, name string) (*record, error) {
	s, err := l.stream(ctx)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, apierrors.NewNotFound(gr, name)
	}
	m, err := s.GetLastMsgForSubject(ctx, jetstream.EventLogIDFilter(namespace, eventID))
	if errors.Is(err, natsjs.ErrMsgNotFound) {
		return nil, apierrors.NewNotFound(gr, name)
	}
	if err != nil {
		return nil, unavailable(fmt.Errorf("read event %s: %w", eventID, err))
	}
	r, ok := decode(m.Sequence, m.Data)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("event %s: the log record cannot be read", eventID))
	}
	return r, nil
}

// follow delivers the records of q stored after sequence after (every new one when
// after is 0) to deliver, until ctx ends or deliver returns false.
// ended is called once delivery ends, for whatever reason.
func (l *Log) follow(ctx context.Context, q *query, after uint64, deliver func(*record) bool, ended func()) error {
	cfg := natsjs.OrderedConsumerConfig{FilterSubjects: []string{q.subject()}, DeliverPolicy: natsjs.DeliverNewPolicy}
	if after > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = natsjs.DeliverByStartSequencePolicy, after+1
	}
	cons, err := l.JetStream.OrderedConsumer(ctx, l.Stream, cfg)
	if err != nil {
		return unavailable(fmt.Errorf("watch log stream %s: %w", l.Stream, err))
	}
	it, err := cons.Messages()
	if err != nil {
		return unavailable(fmt.Errorf("watch log stream %s: %w", l.Stream, err))
	}
	go func() {
		defer ended()
		defer it.Stop()
		stop := context.AfterFunc(ctx, it.Stop)
		defer stop()
		for {
			m, err := it.Next()
			if err != nil {
				return
			}
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			r, ok := decode(md.Sequence.Stream, m.Data())
			if !ok {
				continue
			}
			if !deliver(r) {
				return
			}
		}
	}()
	return nil
}

// decode decodes one log message; records that cannot be read are skipped.
func decode(seq uint64, data []byte) (*record, bool) {
	r, err := jetstream.DecodeEventRecord(data)
	if err != nil {
		return nil, false
	}
	return &record{seq: seq, EventRecord: r}, true
}
