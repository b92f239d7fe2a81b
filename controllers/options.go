package controllers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/stats"
)

// Defaults of Options.
const (
	// DefaultResyncInterval is how often streams are re-ensured and status counters
	// refreshed when Options.ResyncInterval is zero.
	DefaultResyncInterval = 30 * time.Second
	// DefaultKeysBudget is the number of idempotency keys an action stream's duplicate
	// window may hold before IdempotencyWithinBudget turns False, when
	// Options.KeysBudget is zero: about 1.2 GiB of memory on each NATS server with a
	// replica (284 bytes per key, measured by BenchmarkWindowCapacity).
	DefaultKeysBudget int64 = 5_000_000
	// DefaultInProcessEndpoint is the endpoint base URL reported in in-process mode
	// when Options.EndpointBaseURL is empty: the ingress's default listen address.
	DefaultInProcessEndpoint = "http://localhost:8080"
)

// Options configure the reconcilers.
type Options struct {
	// NATSURL is the NATS server of SourceEnvironments that set no spec.publish.natsURL,
	// when ConfigMap is unset, absent or sets no NATS_URL.
	NATSURL string
	// ConfigMap names the operator's settings ConfigMap, such as inlet-system/inlet-config.
	// Its NATS_URL (ConfigMapNATSURL) overrides NATSURL and is watched: when it changes,
	// every SourceEnvironment is reconciled with the new URL (their ingress pods roll)
	// and the operator connects to the new server. Optional; the manager's cache must
	// be allowed to watch it (see CacheByObject).
	ConfigMap types.NamespacedName
	// NATSCredentialsFile is the operator's own NATS credentials file, used for
	// NATSURL when a SourceEnvironment names no credentials Secret. Optional.
	NATSCredentialsFile string
	// IngressImage is the image ingress pods run (the operator's own), e.g. "inlet:dev":
	// they run its IngressCommand, /inlet-ingress.
	IngressImage string
	// EndpointBaseURL is the public base URL of the ingresses, such as
	// "https://events.example.com". When empty, endpoints use the in-cluster Service URL
	// http://<service>.<namespace>.svc:8080 (DefaultInProcessEndpoint in in-process mode).
	EndpointBaseURL string
	// InProcessIngress is the local mode: the ingress runs inside the operator's
	// process, so no Deployment, Service, ServiceAccount, Role or PodDisruptionBudget is
	// created and IngressAvailable is True with reason InProcess.
	InProcessIngress bool
	// ResyncInterval is the longest time between two reconciles of a SourceEnvironment
	// or EventMapping: streams deleted behind the operator's back are re-created and
	// status counters refreshed at least this often. Defaults to DefaultResyncInterval.
	ResyncInterval time.Duration
	// KeysBudget is the number of idempotency keys a SourceEnvironment's action stream
	// may hold in its duplicate window (the messages it stored within the window) before
	// IdempotencyWithinBudget turns False. Defaults to DefaultKeysBudget.
	KeysBudget int64
	// Streams are the stream settings of SourceEnvironments that leave them unset in
	// spec.publish.
	Streams StreamDefaults
}

// StreamDefaults are the operator-wide stream settings: what a SourceEnvironment gets
// for each field of spec.publish.actionStreamSettings, logStreamSettings and
// logMaxBytes it leaves unset.
type StreamDefaults struct {
	// Replicas is the replicas asked for both streams; 0 means 1. Streams found with
	// more replicas keep them.
	Replicas int32
	// Storage is the storage of streams the operator creates; File when empty. A
	// stream found with another storage keeps it.
	Storage v1alpha1.StreamStorage
	// Placement places both streams; nil keeps the placement of a stream found.
	Placement *v1alpha1.StreamPlacement
	// LogMaxBytes bounds the size of log streams; 0 means 1 GiB
	// (jetstream.DefaultLogMaxBytes).
	LogMaxBytes int64
	// Partitions is the number of streams the actions of a SourceEnvironment that
	// does not set spec.publish.partitions are split into; 0 means 1.
	Partitions int32
}

// withDefaults returns o with unset fields defaulted.
func (o Options) withDefaults() Options {
	if o.ResyncInterval <= 0 {
		o.ResyncInterval = DefaultResyncInterval
	}
	if o.KeysBudget <= 0 {
		o.KeysBudget = DefaultKeysBudget
	}
	return o
}

// resync returns the resync interval with up to 10% jitter added, so that many
// objects created together do not all refresh in the same instant.
func (o Options) resync() time.Duration {
	d := o.ResyncInterval
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

// clockSource tells the time; tests may replace it.
type clockSource interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Field indexes registered by SetupWithManager.
const (
	// indexMappingSourceEnvironment indexes EventMappings by the SourceEnvironment
	// they belong to.
	indexMappingSourceEnvironment = "spec.sourceEnvironmentRef.name"
	// indexSourceEnvironmentSource indexes SourceEnvironments by their Source.
	indexSourceEnvironmentSource = "spec.sourceRef.name"
	// indexSourceEnvironmentSecret indexes SourceEnvironments by every Secret they
	// read: signing secrets, secret variables, NATS credentials and the endpoint token.
	indexSourceEnvironmentSecret = "inlet.dev/secretNames"
)

// SetupWithManager registers the Source, SourceEnvironment and EventMapping reconcilers
// with mgr, with the field indexes and watches they need, and a runnable that closes
// the NATS connections they opened when the manager stops.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	opts = opts.withDefaults()
	if err := setupIndexes(context.Background(), mgr); err != nil {
		return err
	}
	pool := newNATSPool(opts.NATSCredentialsFile)
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		<-ctx.Done()
		pool.Close()
		return nil
	})); err != nil {
		return fmt.Errorf("add nats pool closer: %w", err)
	}
	defaults := &natsDefaults{reader: mgr.GetClient(), configMap: opts.ConfigMap, fallback: opts.NATSURL}
	if defaults.enabled() {
		// Say which NATS URL is in use as soon as the cache has the ConfigMap (or knows
		// it is absent), even before any SourceEnvironment needs it.
		if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
			if !mgr.GetCache().WaitForCacheSync(ctx) {
				return nil
			}
			ctx = logf.IntoContext(ctx, mgr.GetLogger().WithName("nats-settings"))
			if _, err := defaults.url(ctx); err != nil {
				logf.FromContext(ctx).Error(err, "cannot read the NATS settings")
			}
			return nil
		})); err != nil {
			return fmt.Errorf("add nats settings logger: %w", err)
		}
	}
	clock := realClock{}
	if err := (&SourceReconciler{
		client:   mgr.GetClient(),
		recorder: mgr.GetEventRecorder("inlet-source-controller"),
		clock:    clock,
	}).setupWithManager(mgr); err != nil {
		return fmt.Errorf("set up Source controller: %w", err)
	}
	if err := (&SourceEnvironmentReconciler{
		client:   mgr.GetClient(),
		secrets:  mgr.GetAPIReader(),
		scheme:   mgr.GetScheme(),
		recorder: mgr.GetEventRecorder("inlet-sourceenvironment-controller"),
		clock:    clock,
		opts:     opts,
		defaults: defaults,
		nats:     pool,
		compiled: newMappingCache(),
	}).setupWithManager(mgr); err != nil {
		return fmt.Errorf("set up SourceEnvironment controller: %w", err)
	}
	if err := (&EventMappingReconciler{
		client:   mgr.GetClient(),
		secrets:  mgr.GetAPIReader(),
		recorder: mgr.GetEventRecorder("inlet-eventmapping-controller"),
		clock:    clock,
		opts:     opts,
		defaults: defaults,
		nats:     pool,
		compiled: newMappingCache(),
		counters: &stats.Cache{MaxAge: opts.ResyncInterval},
	}).setupWithManager(mgr); err != nil {
		return fmt.Errorf("set up EventMapping controller: %w", err)
	}
	return nil
}

// CacheByObject scopes the manager's cache. For the kinds the operator creates for
// ingresses, it holds only the objects the operator labels, so that the operator does
// not keep every Deployment, Service, ServiceAccount, Role, RoleBinding and
// PodDisruptionBudget of the cluster in memory. For ConfigMaps, it holds only
// opts.ConfigMap (none when unset): the operator may read no other. Use it as
// cache.Options.ByObject when creating the manager. Secrets are never cached whole:
// the reconcilers watch only their metadata and read the few they reference from the
// API server.
func CacheByObject(opts Options) map[client.Object]cache.ByObject {
	by := cache.ByObject{Label: labels.SelectorFromSet(labels.Set{LabelName: IngressAppName, LabelManagedBy: ManagedBy})}
	m := map[client.Object]cache.ByObject{
		&appsv1.Deployment{}:            by,
		&corev1.Service{}:               by,
		&corev1.ServiceAccount{}:        by,
		&rbacv1.Role{}:                  by,
		&rbacv1.RoleBinding{}:           by,
		&policyv1.PodDisruptionBudget{}: by,
	}
	if cm := opts.ConfigMap; cm.Name != "" {
		m[&corev1.ConfigMap{}] = cache.ByObject{
			Namespaces: map[string]cache.Config{cm.Namespace: {}},
			Field:      fields.OneTermEqualSelector("metadata.name", cm.Name),
		}
	}
	return m
}

func setupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &v1alpha1.EventMapping{}, indexMappingSourceEnvironment, func(o client.Object) []string {
		return []string{o.(*v1alpha1.EventMapping).Spec.SourceEnvironmentRef.Name}
	}); err != nil {
		return fmt.Errorf("index EventMappings by SourceEnvironment: %w", err)
	}
	if err := idx.IndexField(ctx, &v1alpha1.SourceEnvironment{}, indexSourceEnvironmentSource, func(o client.Object) []string {
		return []string{o.(*v1alpha1.SourceEnvironment).Spec.SourceRef.Name}
	}); err != nil {
		return fmt.Errorf("index SourceEnvironments by Source: %w", err)
	}
	if err := idx.IndexField(ctx, &v1alpha1.SourceEnvironment{}, indexSourceEnvironmentSecret, func(o client.Object) []string {
		se := o.(*v1alpha1.SourceEnvironment)
		return append(referencedSecretNames(se), config.EndpointTokenSecretName(se.Name))
	}); err != nil {
		return fmt.Errorf("index SourceEnvironments by Secret: %w", err)
	}
	return nil
}
