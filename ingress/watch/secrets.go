package watch

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	crcache "sigs.k8s.io/controller-runtime/pkg/cache"
)

// secretWatches runs one informer per referenced Secret, each listing and watching with
// a metadata.name field selector: the API server authorizes such a request against the
// Secret's name, so a Role with resourceNames allows it. It is used from the rebuild
// goroutine only.
type secretWatches struct {
	client  toolscache.Getter
	notify  func()
	timeout time.Duration
	log     logr.Logger
	byName  map[types.NamespacedName]*secretWatch
}

type secretWatch struct {
	informer toolscache.SharedIndexInformer
	stop     context.CancelFunc
}

func newSecretWatches(c toolscache.Getter, notify func(), timeout time.Duration, log logr.Logger) *secretWatches {
	return &secretWatches{client: c, notify: notify, timeout: timeout, log: log, byName: map[types.NamespacedName]*secretWatch{}}
}

// sync starts a watch for each Secret in want that has none and stops those no longer
// wanted. It waits, up to the timeout, for the new watches' first read, so that a new
// reference is served with its Secret rather than reported missing for a moment.
func (s *secretWatches) sync(ctx context.Context, want map[types.NamespacedName]bool) {
	var started []toolscache.DoneChecker
	var names []types.NamespacedName
	for key := range want {
		if s.byName[key] == nil {
			sw := s.start(ctx, key)
			s.byName[key] = sw
			started = append(started, sw.informer.HasSyncedChecker())
			names = append(names, key)
		}
	}
	for key, sw := range s.byName {
		if !want[key] {
			sw.stop()
			delete(s.byName, key)
		}
	}
	if len(started) == 0 {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if !toolscache.WaitFor(wctx, "", started...) && ctx.Err() == nil {
		for _, key := range names {
			if !s.byName[key].informer.HasSynced() {
				s.log.Info("Secret not readable yet; is it in the ingress Role's resourceNames?", "namespace", key.Namespace, "name", key.Name)
			}
		}
	}
}

// start runs an informer for one Secret; any change to it asks for a rebuild.
func (s *secretWatches) start(ctx context.Context, key types.NamespacedName) *secretWatch {
	lw := toolscache.NewFilteredListWatchFromClient(s.client, "secrets", key.Namespace, func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", key.Name).String()
	})
	inf := toolscache.NewSharedIndexInformer(lw, &corev1.Secret{}, 0, toolscache.Indexers{})
	_ = inf.SetTransform(crcache.TransformStripManagedFields())
	_, _ = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.notify() },
		UpdateFunc: func(any, any) { s.notify() },
		DeleteFunc: func(any) { s.notify() },
	})
	ictx, cancel := context.WithCancel(ctx)
	go inf.RunWithContext(ictx)
	return &secretWatch{informer: inf, stop: cancel}
}

// list returns the Secrets read so far, in namespace and name order.
func (s *secretWatches) list() []corev1.Secret {
	var out []corev1.Secret
	for _, sw := range s.byName {
		for _, obj := range sw.informer.GetStore().List() {
			if secret, ok := obj.(*corev1.Secret); ok {
				out = append(out, *secret)
			}
		}
	}
	slices.SortFunc(out, func(a, b corev1.Secret) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// stopAll stops every watch.
func (s *secretWatches) stopAll() {
	for key, sw := range s.byName {
		sw.stop()
		delete(s.byName, key)
	}
}
