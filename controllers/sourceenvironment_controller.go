package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/provider"
	"inlet.dev/inlet/ingress/stats"
)

// SourceEnvironmentFinalizer holds a SourceEnvironment until the operator has removed
// its counters from the INLET_STATS bucket in NATS, the one piece of its state that
// lives outside Kubernetes.
const SourceEnvironmentFinalizer = "inlet.dev/stats-cleanup"

// statsCleanupTimeout is how long the removal of a deleted SourceEnvironment's
// counters is retried while NATS cannot be reached, before the finalizer is removed
// anyway.
const statsCleanupTimeout = 2 * time.Minute

// SourceEnvironmentReconciler runs an ingress for each SourceEnvironment, keeps the
// JetStream streams it publishes to, and reports in status whether events are received
// and published. It is created by SetupWithManager.
type SourceEnvironmentReconciler struct {
	client client.Client
	// secrets reads Secrets from the API server: the operator watches only their
	// metadata, so that it does not cache every Secret of the cluster.
	secrets  client.Reader
	scheme   *runtime.Scheme
	recorder events.EventRecorder
	clock    clockSource
	opts     Options
	// defaults tells the NATS URL of SourceEnvironments that name none.
	defaults *natsDefaults
	nats     jetStreamRunner
	// compiled remembers which EventMapping generations compile, to count the live
	// mappings on every resync without compiling them again.
	compiled *mappingCache
	// streamsSeen remembers the streams ensured, to tell a re-created one.
	streamsSeen streamMemory
}

// sourceEnvironmentScope carries what one reconcile found from phase to phase.
type sourceEnvironmentScope struct {
	se *v1alpha1.SourceEnvironment
	// before is the object as read: the base of the status patch, and what condition
	// transitions are measured against.
	before *v1alpha1.SourceEnvironment

	// source is the referenced Source, nil when it does not exist.
	source *v1alpha1.Source
	// secrets are the referenced Secrets that exist, by name.
	secrets map[string]*corev1.Secret
	// tokenSecret holds the endpoint token, for sources that sign nothing.
	tokenSecret *corev1.Secret
	// problem is why the ingress would not serve this environment, nil when it would.
	problem *config.Problem

	// defaultURL is the NATS URL of SourceEnvironments that name none; defaultURLErr
	// says why it could not be read.
	defaultURL    string
	defaultURLErr error
	// nats is where streams live; natsErr says why it cannot be used.
	nats    natsTarget
	natsErr error
	// streamsErr says why the streams are not ready; nil when they are.
	streamsErr error
	// streams describes the streams ensured, for the condition's message.
	streams string

	// deployment is the ingress Deployment, nil in-process or when it could not be
	// created.
	deployment *appsv1.Deployment
	// mappings counts the environment's EventMappings that compile.
	mappings int32
	// report holds the ingress counters; nil when NATS could not be read.
	report *stats.Report
	// keys counts the messages the action stream stored within its duplicate window;
	// nil when NATS could not be read.
	keys *keysHeld
}

// usesToken reports whether the source signs nothing, so that its endpoint carries a
// token. It is false while the Source is unknown.
func (s *sourceEnvironmentScope) usesToken() bool {
	return s.source != nil && provider.UsesEndpointToken(&s.source.Spec)
}

// sourceEnvironmentPhase is one step of a reconcile.
type sourceEnvironmentPhase func(context.Context, *sourceEnvironmentScope) (ctrl.Result, error)

// Reconcile brings one SourceEnvironment's ingress, streams and status in line with its
// spec. It runs these phases in order, each using what the earlier ones found:
//
//  1. reconcileSource reads the Source;
//  2. reconcileSecrets reads the referenced Secrets;
//  3. reconcileEndpointToken generates the endpoint token Secret, once, for sources that
//     sign nothing;
//  4. reconcileConfig compiles the environment exactly as the ingress will and keeps the
//     verdict (Source or Secret missing, invalid spec or expression);
//  5. reconcileIngress applies the ServiceAccount, Role, RoleBinding, Deployment,
//     Service and PodDisruptionBudget (nothing in in-process mode);
//  6. reconcileStreams ensures the action and log streams in JetStream;
//  7. reconcileMappings counts the EventMappings that compile;
//  8. reconcileStats reads the ingress counters from the INLET_STATS bucket.
//
// Every phase runs even when an earlier one failed, so that status reports on every
// part; errors are aggregated and the lowest requeue wins. Status is written once, in
// a deferred patch, and only when it changed. The object is requeued after the resync
// interval, so that a stream deleted behind the operator's back comes back and the
// counters stay fresh. A SourceEnvironment being deleted goes to reconcileDelete. An
// optimistic-lock conflict (someone else wrote the object meanwhile) is not an error:
// the object is read again shortly.
func (r *SourceEnvironmentReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, reterr error) {
	defer func() { res, reterr = requeueOnConflict(ctx, res, reterr) }()
	se := &v1alpha1.SourceEnvironment{}
	if err := r.client.Get(ctx, req.NamespacedName, se); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get sourceenvironment %s: %w", req.NamespacedName, err)
	}
	if !se.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, se)
	}
	if !controllerutil.ContainsFinalizer(se, SourceEnvironmentFinalizer) {
		// A new SourceEnvironment counts from zero, even when one of the same name
		// left counters behind.
		r.resetStats(ctx, se)
		base := se.DeepCopy()
		controllerutil.AddFinalizer(se, SourceEnvironmentFinalizer)
		if err := r.client.Patch(ctx, se, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer: %w", err)
		}
	}

	s := &sourceEnvironmentScope{se: se, before: se.DeepCopy(), secrets: map[string]*corev1.Secret{}}
	defer func() {
		r.updateStatus(ctx, s)
		if err := r.patchStatus(ctx, s, reterr == nil); err != nil {
			reterr = kerrors.NewAggregate([]error{reterr, err})
		}
	}()
	res, err := doReconcile(ctx, s, []sourceEnvironmentPhase{
		r.reconcileSource,
		r.reconcileSecrets,
		r.reconcileEndpointToken,
		r.reconcileConfig,
		r.reconcileIngress,
		r.reconcileStreams,
		r.reconcileMappings,
		r.reconcileStats,
	})
	if err != nil {
		return ctrl.Result{}, err
	}
	return lowestNonZeroResult(res, ctrl.Result{RequeueAfter: r.opts.resync()}), nil
}

// patchStatus writes the status computed by updateStatus when it differs from what was
// read. observedGeneration moves only when the reconcile succeeded.
func (r *SourceEnvironmentReconciler) patchStatus(ctx context.Context, s *sourceEnvironmentScope, ok bool) error {
	if ok {
		s.se.Status.ObservedGeneration = s.se.Generation
	}
	return patchStatus(ctx, r.client, s.before, s.se, func(se *v1alpha1.SourceEnvironment) any { return se.Status })
}

// reconcileDelete removes the SourceEnvironment's counters from the INLET_STATS bucket
// and then its finalizer. Everything it owns in Kubernetes (Deployment, Service,
// ServiceAccount, Role, RoleBinding, PodDisruptionBudget, endpoint token Secret) carries
// a controller reference to it, so the garbage collector removes that.
//
// The JetStream streams are deliberately NOT deleted: they are shared with other
// SourceEnvironments, on this cluster or others, and may hold actions the notification
// engine has not consumed yet. Delete them by hand when no one uses them.
//
// When NATS cannot be reached the cleanup is retried with backoff for
// statsCleanupTimeout, after which the finalizer is removed anyway and a Warning Event
// says so: the counters stay in the bucket, and a SourceEnvironment created again under
// the same name starts from zero all the same.
func (r *SourceEnvironmentReconciler) reconcileDelete(ctx context.Context, se *v1alpha1.SourceEnvironment) (ctrl.Result, error) {
	key := types.NamespacedName{Namespace: se.Namespace, Name: se.Name}
	if !controllerutil.ContainsFinalizer(se, SourceEnvironmentFinalizer) {
		return ctrl.Result{}, nil
	}
	if err := r.deleteStats(ctx, se); err != nil {
		if r.clock.Now().Sub(se.DeletionTimestamp.Time) < statsCleanupTimeout {
			return ctrl.Result{}, fmt.Errorf("remove counters of %s from nats: %w", key, err)
		}
		logf.FromContext(ctx).Info("giving up removing counters from NATS", "error", err.Error())
		r.recorder.Eventf(se, nil, corev1.EventTypeWarning, v1alpha1.EventStatsCleanupFailed, "Delete",
			"could not remove the counters from NATS (%v); they stay in bucket %s", err, stats.Bucket)
	}
	base := se.DeepCopy()
	controllerutil.RemoveFinalizer(se, SourceEnvironmentFinalizer)
	if err := r.client.Patch(ctx, se, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(fmt.Errorf("remove finalizer: %w", err))
	}
	return ctrl.Result{}, nil
}

// deleteStats removes a SourceEnvironment's counters from the stats bucket.
func (r *SourceEnvironmentReconciler) deleteStats(ctx context.Context, se *v1alpha1.SourceEnvironment) error {
	target, err := r.natsTarget(ctx, se)
	if err != nil {
		return err
	}
	return r.nats.WithJetStream(ctx, target, func(ctx context.Context, js jetstream.JetStream) error {
		return stats.Remove(ctx, js, se.Namespace, se.Name)
	})
}

// resetStats removes counters a deleted SourceEnvironment of the same name may have
// left behind, before a new one starts counting. It is best effort: with NATS
// unreachable the new SourceEnvironment would inherit them.
func (r *SourceEnvironmentReconciler) resetStats(ctx context.Context, se *v1alpha1.SourceEnvironment) {
	if err := r.deleteStats(ctx, se); err != nil {
		logf.FromContext(ctx).V(1).Info("cannot reset counters", "error", err.Error())
	}
}

// doReconcile runs every phase, collecting errors and keeping the lowest requeue.
func doReconcile[S any, P ~func(context.Context, S) (ctrl.Result, error)](ctx context.Context, s S, phases []P) (ctrl.Result, error) {
	var res ctrl.Result
	var errs []error
	for _, phase := range phases {
		r, err := phase(ctx, s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		res = lowestNonZeroResult(res, r)
	}
	if len(errs) > 0 {
		return ctrl.Result{}, kerrors.NewAggregate(errs)
	}
	return res, nil
}

// lowestNonZeroResult returns the result that requeues soonest; a zero RequeueAfter
// means no requeue, not "now".
func lowestNonZeroResult(a, b ctrl.Result) ctrl.Result {
	switch {
	case a.RequeueAfter == 0:
		return b
	case b.RequeueAfter == 0:
		return a
	case b.RequeueAfter < a.RequeueAfter:
		return b
	}
	return a
}

func (r *SourceEnvironmentReconciler) setupWithManager(mgr ctrl.Manager) error {
	if !r.opts.InProcessIngress && r.opts.IngressImage == "" {
		return errors.New("Options.IngressImage is required unless InProcessIngress is set")
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.SourceEnvironment{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.Source{}, handler.EnqueueRequestsFromMapFunc(r.forSource),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.EventMapping{}, handler.EnqueueRequestsFromMapFunc(forMappingsSourceEnvironment),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.forSecret)).
		Named("sourceenvironment")
	if r.defaults.enabled() {
		b = b.Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.forConfigMap),
			builder.WithPredicates(predicate.NewPredicateFuncs(r.defaults.isConfigMap)))
	}
	if !r.opts.InProcessIngress {
		b = b.Owns(&appsv1.Deployment{}).
			Owns(&corev1.Service{}).
			Owns(&corev1.ServiceAccount{}).
			Owns(&rbacv1.Role{}).
			Owns(&rbacv1.RoleBinding{}).
			Owns(&policyv1.PodDisruptionBudget{})
	}
	return b.Complete(r)
}

// forSource maps a Source to the SourceEnvironments that use it.
func (r *SourceEnvironmentReconciler) forSource(ctx context.Context, o client.Object) []reconcile.Request {
	return r.sourceEnvironmentsWith(ctx, o.GetNamespace(), indexSourceEnvironmentSource, o.GetName())
}

// forSecret maps a Secret to the SourceEnvironments that read it, so that a Secret
// created late brings its environment up, and a deleted token Secret is regenerated.
func (r *SourceEnvironmentReconciler) forSecret(ctx context.Context, o client.Object) []reconcile.Request {
	return r.sourceEnvironmentsWith(ctx, o.GetNamespace(), indexSourceEnvironmentSecret, o.GetName())
}

func (r *SourceEnvironmentReconciler) sourceEnvironmentsWith(ctx context.Context, namespace, index, value string) []reconcile.Request {
	var list v1alpha1.SourceEnvironmentList
	if err := r.client.List(ctx, &list, client.InNamespace(namespace), client.MatchingFields{index: value}); err != nil {
		logf.FromContext(ctx).Error(err, "list SourceEnvironments", "index", index, "value", value)
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, se := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: se.Namespace, Name: se.Name}})
	}
	return reqs
}

// forConfigMap maps the operator's ConfigMap to every SourceEnvironment: any of them
// may use its NATS URL, or share a stream with one that does. The new setting is
// logged at once.
func (r *SourceEnvironmentReconciler) forConfigMap(ctx context.Context, _ client.Object) []reconcile.Request {
	if _, err := r.defaults.url(ctx); err != nil {
		logf.FromContext(ctx).Error(err, "cannot read the NATS settings")
	}
	var list v1alpha1.SourceEnvironmentList
	if err := r.client.List(ctx, &list); err != nil {
		logf.FromContext(ctx).Error(err, "list SourceEnvironments")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, se := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: se.Namespace, Name: se.Name}})
	}
	return reqs
}

// forMappingsSourceEnvironment maps an EventMapping to its SourceEnvironment, whose
// status counts the mappings.
func forMappingsSourceEnvironment(_ context.Context, o client.Object) []reconcile.Request {
	m, ok := o.(*v1alpha1.EventMapping)
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: m.Namespace, Name: m.Spec.SourceEnvironmentRef.Name}}}
}
