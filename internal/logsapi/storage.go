package logsapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	logsv1alpha1 "inlet.dev/inlet/api/logs/v1alpha1"
)

// Page sizes: a list without a limit, or with a larger one, gets maxPage items and a
// continue token, so that no request reads a whole stream of a million records.
const maxPage = 500

// storage serves one kind (SourceEvent or SourceAction) from the log.
type storage struct {
	log        *Log
	authorizer authorizer.Authorizer
	actions    bool
}

var (
	_ rest.Getter               = (*storage)(nil)
	_ rest.Lister               = (*storage)(nil)
	_ rest.Watcher              = (*storage)(nil)
	_ rest.Scoper               = (*storage)(nil)
	_ rest.KindProvider         = (*storage)(nil)
	_ rest.ShortNamesProvider   = (*storage)(nil)
	_ rest.CategoriesProvider   = (*storage)(nil)
	_ rest.SingularNameProvider = (*storage)(nil)
	_ rest.TableConvertor       = (*storage)(nil)
)

func (s *storage) resource() schema.GroupResource {
	if s.actions {
		return logsv1alpha1.SchemeGroupVersion.WithResource(logsv1alpha1.SourceActions).GroupResource()
	}
	return logsv1alpha1.SchemeGroupVersion.WithResource(logsv1alpha1.SourceEvents).GroupResource()
}

func (s *storage) New() runtime.Object {
	if s.actions {
		return &logsv1alpha1.SourceAction{}
	}
	return &logsv1alpha1.SourceEvent{}
}

func (s *storage) NewList() runtime.Object {
	if s.actions {
		return &logsv1alpha1.SourceActionList{}
	}
	return &logsv1alpha1.SourceEventList{}
}

func (s *storage) Destroy()              {}
func (s *storage) NamespaceScoped() bool { return true }
func (s *storage) Categories() []string  { return []string{"inlet"} }

func (s *storage) Kind() string {
	if s.actions {
		return "SourceAction"
	}
	return "SourceEvent"
}

func (s *storage) GetSingularName() string {
	if s.actions {
		return "sourceaction"
	}
	return "sourceevent"
}

func (s *storage) ShortNames() []string {
	if s.actions {
		return []string{"sact"}
	}
	return []string{"sev"}
}

// Get returns one SourceEvent by event id, or one SourceAction by "<event id>-<n>".
func (s *storage) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	ns := genericapirequest.NamespaceValue(ctx)
	eventID, index := name, 0
	if s.actions {
		var ok bool
		if eventID, index, ok = splitActionName(name); !ok {
			return nil, apierrors.NewNotFound(s.resource(), name)
		}
	}
	r, err := s.log.get(ctx, ns, eventID, s.resource(), name)
	if err != nil {
		return nil, err
	}
	if s.actions {
		if index >= len(r.ActionLog) {
			return nil, apierrors.NewNotFound(s.resource(), name)
		}
		return toSourceAction(r, index), nil
	}
	return toSourceEvent(r, newPayloadAccess(ctx, s.authorizer).allowed(ctx, ns)), nil
}

// continueToken is where the next page starts: the record sequence, the index of the
// action within it, and the resourceVersion (the last sequence) of the first page.
type continueToken struct {
	Seq    uint64 `json:"seq"`
	Action int    `json:"action,omitempty"`
	Last   uint64 `json:"last"`
}

func (t continueToken) encode() string {
	data, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(data)
}

func decodeContinue(s string) (continueToken, error) {
	var t continueToken
	data, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(data, &t)
	}
	if err != nil || t.Seq == 0 {
		return t, apierrors.NewBadRequest("invalid continue token")
	}
	return t, nil
}

// List returns a page of SourceEvents or SourceActions, oldest first. Pages follow the
// log stream's sequence: a continue token is where the next page starts, and every
// page reads up to the stream's last record when the first page was read, which is
// the list's resourceVersion.
func (s *storage) List(ctx context.Context, opts *metainternalversion.ListOptions) (runtime.Object, error) {
	ns := genericapirequest.NamespaceValue(ctx)
	q, err := newQuery(ns, opts)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	limit := maxPage
	if opts != nil && opts.Limit > 0 && opts.Limit < maxPage {
		limit = int(opts.Limit)
	}
	var tok continueToken
	if opts != nil && opts.Continue != "" {
		if tok, err = decodeContinue(opts.Continue); err != nil {
			return nil, err
		}
	} else if tok.Last, err = s.log.lastSeq(ctx); err != nil {
		return nil, err
	}
	access := newPayloadAccess(ctx, s.authorizer)
	var events []logsv1alpha1.SourceEvent
	var actions []logsv1alpha1.SourceAction
	next := continueToken{Last: tok.Last}
	count := 0
	seq, err := s.log.scan(ctx, q, tok.Seq, tok.Last, func(r *record) bool {
		if !s.actions {
			if q.matchEvent(r) {
				events = append(events, *toSourceEvent(r, access.allowed(ctx, r.Namespace)))
				count++
			}
			return count == limit
		}
		from := 0
		if r.seq == tok.Seq {
			from = tok.Action
		}
		for i := from; i < len(r.ActionLog); i++ {
			if count == limit {
				// The page is full in the middle of an event: continue from its next action.
				next.Seq, next.Action = r.seq, i
				return true
			}
			if q.matchAction(r, i) {
				actions = append(actions, *toSourceAction(r, i))
				count++
			}
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	if next.Seq == 0 {
		next.Seq = seq
	}
	meta := metav1.ListMeta{ResourceVersion: strconv.FormatUint(tok.Last, 10)}
	if next.Seq != 0 {
		meta.Continue = next.encode()
	}
	if s.actions {
		return &logsv1alpha1.SourceActionList{ListMeta: meta, Items: orEmpty(actions)}, nil
	}
	return &logsv1alpha1.SourceEventList{ListMeta: meta, Items: orEmpty(events)}, nil
}

func orEmpty[T any](items []T) []T {
	if items == nil {
		return []T{}
	}
	return items
}

// Watch sends every new record that matches as an ADDED event, from the
// resourceVersion given (a list's, or an object's) or from now.
func (s *storage) Watch(ctx context.Context, opts *metainternalversion.ListOptions) (watch.Interface, error) {
	ns := genericapirequest.NamespaceValue(ctx)
	q, err := newQuery(ns, opts)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if opts != nil && opts.SendInitialEvents != nil && *opts.SendInitialEvents {
		return nil, apierrors.NewBadRequest("sendInitialEvents is not supported: list, then watch from the list's resourceVersion")
	}
	var after uint64
	if opts != nil && opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
		if after, err = strconv.ParseUint(opts.ResourceVersion, 10, 64); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid resourceVersion %q", opts.ResourceVersion))
		}
	}
	access := newPayloadAccess(ctx, s.authorizer)
	w := &watcher{ch: make(chan watch.Event, 64)}
	wctx, cancel := context.WithCancel(ctx)
	w.cancel = cancel
	send := func(obj runtime.Object) bool {
		select {
		case w.ch <- watch.Event{Type: watch.Added, Object: obj}:
			return true
		case <-wctx.Done():
			return false
		}
	}
	err = s.log.follow(wctx, q, after, func(r *record) bool {
		if !s.actions {
			if q.matchEvent(r) {
				return send(toSourceEvent(r, access.allowed(wctx, r.Namespace)))
			}
			return true
		}
		for i := range r.ActionLog {
			if q.matchAction(r, i) && !send(toSourceAction(r, i)) {
				return false
			}
		}
		return true
	}, func() { close(w.ch) })
	if err != nil {
		cancel()
		return nil, err
	}
	return w, nil
}

// watcher is a watch.Interface whose events a log consumer sends.
type watcher struct {
	ch     chan watch.Event
	cancel context.CancelFunc
}

// Stop ends the consumer; ResultChan is closed once it has stopped.
func (w *watcher) Stop() { w.cancel() }

func (w *watcher) ResultChan() <-chan watch.Event { return w.ch }

// payloadAccess answers, once per namespace and request, whether the user may read
// payloads: get on sourceevents/payload.
type payloadAccess struct {
	authorizer authorizer.Authorizer
	mu         sync.Mutex
	decisions  map[string]bool
}

func newPayloadAccess(_ context.Context, a authorizer.Authorizer) *payloadAccess {
	return &payloadAccess{authorizer: a, decisions: map[string]bool{}}
}

func (p *payloadAccess) allowed(ctx context.Context, namespace string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d, ok := p.decisions[namespace]; ok {
		return d
	}
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok || p.authorizer == nil {
		return false
	}
	decision, _, err := p.authorizer.Authorize(ctx, authorizer.AttributesRecord{
		User:            u,
		Verb:            "get",
		Namespace:       namespace,
		APIGroup:        logsv1alpha1.GroupName,
		APIVersion:      logsv1alpha1.SchemeGroupVersion.Version,
		Resource:        logsv1alpha1.SourceEvents,
		Subresource:     logsv1alpha1.PayloadSubresource,
		ResourceRequest: true,
	})
	d := err == nil && decision == authorizer.DecisionAllow
	p.decisions[namespace] = d
	return d
}
