// Package watch keeps an ingress's compiled configuration in step with the API server.
// It watches Sources, SourceEnvironments and EventMappings, and each Secret they refer
// to, and shortly after any change rebuilds the snapshot with config.Build and hands it
// to the caller, who swaps it into the server. An edited mapping or a rotated Secret is
// live within a fraction of a second, with no restart.
//
// Secrets are watched one by one, each with a metadata.name field selector, because an
// ingress's Role grants its referenced Secrets by resourceNames only: listing the
// namespace's Secrets would be refused, and would read far more than it needs.
package watch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/fields"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	crcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/config"
	inletscheme "inlet.dev/inlet/internal/scheme"
)

// Defaults of Options.
const (
	// DefaultDebounce is the wait between a change and the rebuild it causes.
	DefaultDebounce = 100 * time.Millisecond
	// DefaultSecretSyncTimeout bounds the wait for a newly referenced Secret.
	DefaultSecretSyncTimeout = 2 * time.Second
)

// Options configure a Watcher. Zero values take the documented defaults.
type Options struct {
	// Namespace is the namespace watched; "" watches every namespace, as the local
	// in-process ingress does.
	Namespace string
	// SourceEnvironment, when set, limits the snapshot to this SourceEnvironment of
	// Namespace with its Source, EventMappings and Secrets, as an ingress pod serves.
	SourceEnvironment string
	// Debounce is how long after a change the snapshot is rebuilt, so that a burst of
	// changes (a folder applied at once) costs one rebuild. Default DefaultDebounce.
	Debounce time.Duration
	// SecretSyncTimeout bounds the wait for a newly referenced Secret's first read; past
	// it the snapshot is built without the Secret, and rebuilt once it can be read.
	// Default DefaultSecretSyncTimeout.
	SecretSyncTimeout time.Duration
	// Partitions is the number of action stream partitions of a SourceEnvironment that
	// sets no spec.publish.partitions; 0 means 1.
	Partitions int32
	// Logger receives one record per rebuild and one per resource not served; never a
	// secret value.
	Logger logr.Logger
}

// Watcher rebuilds the snapshot whenever the resources it depends on change. Create it
// with New and start it with Run.
type Watcher struct {
	opts    Options
	cfg     *rest.Config
	apply   func(*config.Snapshot)
	log     logr.Logger
	changed chan struct{}
	secrets *secretWatches

	built     chan struct{}
	builtOnce sync.Once
	lastKey   string
}

// New returns a Watcher that calls apply with every snapshot it builds, from one
// goroutine at a time. cfg is the API server's configuration.
func New(cfg *rest.Config, opts Options, apply func(*config.Snapshot)) (*Watcher, error) {
	if opts.SourceEnvironment != "" && opts.Namespace == "" {
		return nil, errors.New("watch: a SourceEnvironment needs its Namespace")
	}
	if apply == nil {
		return nil, errors.New("watch: apply is required")
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.SecretSyncTimeout <= 0 {
		opts.SecretSyncTimeout = DefaultSecretSyncTimeout
	}
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("watch: create core client: %w", err)
	}
	w := &Watcher{
		opts:    opts,
		cfg:     cfg,
		apply:   apply,
		log:     opts.Logger,
		changed: make(chan struct{}, 1),
		built:   make(chan struct{}),
	}
	w.secrets = newSecretWatches(core.RESTClient(), w.notify, opts.SecretSyncTimeout, w.log)
	return w, nil
}

// Run is New followed by Watcher.Run.
func Run(ctx context.Context, cfg *rest.Config, opts Options, apply func(*config.Snapshot)) error {
	w, err := New(cfg, opts, apply)
	if err != nil {
		return err
	}
	return w.Run(ctx)
}

// Run watches until ctx is done. It builds and applies the first snapshot as soon as
// the resources are read, then rebuilds after each change. It returns an error when the
// watches cannot be started, nil once ctx is done. Call it once.
func (w *Watcher) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c, err := w.newCache()
	if err != nil {
		return err
	}
	if err := w.watchKinds(ctx, c); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		cancel()
		if err := <-errc; err != nil {
			return fmt.Errorf("watch: start cache: %w", err)
		}
		return ctx.Err()
	}
	w.loop(ctx, c)
	w.secrets.stopAll()
	return <-errc
}

// Ready reports whether the first snapshot was built and applied.
func (w *Watcher) Ready() error {
	select {
	case <-w.built:
		return nil
	default:
		return errors.New("configuration not read from the API server yet")
	}
}

// Built is closed once the first snapshot was built and applied.
func (w *Watcher) Built() <-chan struct{} { return w.built }

// scheme knows the kinds a Watcher reads.
var scheme = inletscheme.New()

// newCache returns a cache of inlet's kinds in the watched namespace; with a
// SourceEnvironment it holds only that SourceEnvironment.
func (w *Watcher) newCache() (crcache.Cache, error) {
	opts := crcache.Options{
		Scheme:           scheme,
		DefaultTransform: crcache.TransformStripManagedFields(),
		ByObject:         map[client.Object]crcache.ByObject{},
	}
	if w.opts.Namespace != "" {
		opts.DefaultNamespaces = map[string]crcache.Config{w.opts.Namespace: {}}
	}
	if w.opts.SourceEnvironment != "" {
		opts.ByObject[&v1alpha1.SourceEnvironment{}] = crcache.ByObject{
			Field: fields.OneTermEqualSelector("metadata.name", w.opts.SourceEnvironment),
		}
	}
	c, err := crcache.New(w.cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("watch: create cache: %w", err)
	}
	return c, nil
}

// watchKinds asks for a rebuild when a Source, SourceEnvironment or EventMapping is
// added, deleted or has its spec changed; status updates are ignored.
func (w *Watcher) watchKinds(ctx context.Context, c crcache.Cache) error {
	for _, obj := range []client.Object{&v1alpha1.Source{}, &v1alpha1.SourceEnvironment{}, &v1alpha1.EventMapping{}} {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("watch: %T: %w", obj, err)
		}
		_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { w.notify() },
			UpdateFunc: func(o, n any) { w.notifyIf(generationChanged(o, n)) },
			DeleteFunc: func(any) { w.notify() },
		})
		if err != nil {
			return fmt.Errorf("watch: %T: %w", obj, err)
		}
	}
	return nil
}

func generationChanged(o, n any) bool {
	oo, ok1 := o.(client.Object)
	no, ok2 := n.(client.Object)
	return !ok1 || !ok2 || oo.GetGeneration() != no.GetGeneration()
}

// notify asks for a rebuild; requests made before the rebuild starts are coalesced.
func (w *Watcher) notify() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

func (w *Watcher) notifyIf(cond bool) {
	if cond {
		w.notify()
	}
}

// loop builds the first snapshot, then rebuilds Debounce after each change until ctx
// is done. Changes made during the wait are folded into the same rebuild.
func (w *Watcher) loop(ctx context.Context, c client.Reader) {
	w.rebuild(ctx, c)
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.changed:
		}
		timer := time.NewTimer(w.opts.Debounce)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		select {
		case <-w.changed:
		default:
		}
		w.rebuild(ctx, c)
	}
}

// rebuild reads the resources, follows their Secret references, compiles and applies a
// new snapshot. Nothing is applied when the inputs did not change since the last one.
func (w *Watcher) rebuild(ctx context.Context, c client.Reader) {
	start := time.Now()
	in, err := w.list(ctx, c)
	if err != nil {
		w.log.Error(err, "read configuration; still serving the previous one")
		return
	}
	in = Select(in, w.opts.SourceEnvironment)
	in.Partitions = w.opts.Partitions
	w.secrets.sync(ctx, SecretRefs(in))
	in.Secrets = w.secrets.list()
	key := fingerprint(in)
	if w.Ready() == nil && key == w.lastKey {
		return
	}
	snap := config.Build(in)
	w.apply(snap)
	w.lastKey = key
	w.builtOnce.Do(func() { close(w.built) })
	w.logSnapshot(snap, time.Since(start))
}

// list reads inlet's kinds from the cache.
func (w *Watcher) list(ctx context.Context, c client.Reader) (config.Inputs, error) {
	var opts []client.ListOption
	if w.opts.Namespace != "" {
		opts = append(opts, client.InNamespace(w.opts.Namespace))
	}
	var (
		sources  v1alpha1.SourceList
		envs     v1alpha1.SourceEnvironmentList
		mappings v1alpha1.EventMappingList
	)
	if err := c.List(ctx, &sources, opts...); err != nil {
		return config.Inputs{}, fmt.Errorf("list sources: %w", err)
	}
	if err := c.List(ctx, &envs, opts...); err != nil {
		return config.Inputs{}, fmt.Errorf("list sourceenvironments: %w", err)
	}
	if err := c.List(ctx, &mappings, opts...); err != nil {
		return config.Inputs{}, fmt.Errorf("list eventmappings: %w", err)
	}
	return config.Inputs{Sources: sources.Items, SourceEnvironments: envs.Items, EventMappings: mappings.Items}, nil
}

// logSnapshot records what a rebuild serves and what it left out. Problems name
// resources and Secret keys, never values.
func (w *Watcher) logSnapshot(snap *config.Snapshot, took time.Duration) {
	envs := snap.Environments()
	mappings := 0
	for _, e := range envs {
		mappings += e.MappingCount()
	}
	w.log.Info("configuration rebuilt", "sourceEnvironments", len(envs), "mappings", mappings,
		"problems", len(snap.Problems), "took", took.Round(time.Millisecond).String())
	for _, p := range snap.Problems {
		w.log.Info("not served", "kind", p.Kind, "namespace", p.Object.Namespace, "name", p.Object.Name,
			"reason", p.Reason, "message", p.Message)
	}
}
