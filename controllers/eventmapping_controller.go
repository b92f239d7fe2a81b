package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/stats"
)

// EventMappingReconciler compiles each EventMapping with the CEL environment the
// ingress uses, reports whether it is live, and shows how many events it matched. It
// is created by SetupWithManager.
type EventMappingReconciler struct {
	client client.Client
	// secrets reads the NATS credentials Secret of the mapping's SourceEnvironment.
	secrets  client.Reader
	recorder events.EventRecorder
	clock    clockSource
	opts     Options
	// defaults tells the NATS URL of SourceEnvironments that name none.
	defaults *natsDefaults
	nats     jetStreamRunner
	compiled *mappingCache
	reports  *reportCache
}

// Reconcile compiles one EventMapping and reports Ready: False with reason
// InvalidExpression (the message names the field and the line and column) when an
// expression does not compile, False with SourceEnvironmentNotFound when its
// SourceEnvironment does not exist, True otherwise. A live mapping's eventsMatched and
// lastMatchTime come from the ingress counters in NATS and are refreshed every resync
// interval. Status is patched once, when it changed; an Event marks each change of
// Ready. An optimistic-lock conflict is not an error: the mapping is read again
// shortly.
func (r *EventMappingReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, reterr error) {
	defer func() { res, reterr = requeueOnConflict(ctx, res, reterr) }()
	m := &v1alpha1.EventMapping{}
	if err := r.client.Get(ctx, req.NamespacedName, m); err != nil {
		if apierrors.IsNotFound(err) {
			r.compiled.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get eventmapping %s: %w", req.NamespacedName, err)
	}
	before := m.DeepCopy()
	defer func() {
		if err := r.patchStatus(ctx, before, m, reterr == nil); err != nil {
			reterr = kerrors.NewAggregate([]error{reterr, err})
		}
	}()

	m.Status.ActionCount = int32(len(m.Spec.Actions))
	compileErr := r.compiled.compile(m)

	se := &v1alpha1.SourceEnvironment{}
	err := r.client.Get(ctx, types.NamespacedName{Namespace: m.Namespace, Name: m.Spec.SourceEnvironmentRef.Name}, se)
	seFound := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("get sourceenvironment %s: %w", m.Spec.SourceEnvironmentRef.Name, err)
	}

	if seFound && compileErr == nil {
		r.refreshMatches(ctx, m, se)
		res.RequeueAfter = r.opts.resync()
	}
	setMappingReadyCondition(&m.Status, m.Generation, r.clock.Now(), compileErr, seFound, m.Spec.SourceEnvironmentRef.Name)
	eventOnTransition(r.recorder, m, before.Status.Conditions, m.Status.Conditions, v1alpha1.ConditionReady, announceChanges)
	return res, nil
}

// refreshMatches reads how many events the mapping matched from its
// SourceEnvironment's counters, as last read by any reconciler within the resync
// interval. The counters carry no time per mapping, so
// when the count grew lastMatchTime is the environment's last event time, the latest
// the match can have happened. NATS failures leave the status as it was; the
// SourceEnvironment reports them.
func (r *EventMappingReconciler) refreshMatches(ctx context.Context, m *v1alpha1.EventMapping, se *v1alpha1.SourceEnvironment) {
	now := r.clock.Now()
	key := types.NamespacedName{Namespace: se.Namespace, Name: se.Name}
	if report, ok := r.reports.get(key, now, r.opts.ResyncInterval); ok {
		applyMatches(&m.Status, report.Matched[m.Name], report.LastEventTime, now)
		return
	}
	defaultURL, err := r.defaults.url(ctx)
	if err != nil {
		return
	}
	target, err := natsTargetFor(se, defaultURL, func(name string) *corev1.Secret {
		sec := &corev1.Secret{}
		if r.secrets.Get(ctx, types.NamespacedName{Namespace: se.Namespace, Name: name}, sec) != nil {
			return nil
		}
		return sec
	})
	if err != nil {
		return
	}
	var report stats.Report
	err = r.nats.WithJetStream(ctx, target, func(ctx context.Context, js jetstream.JetStream) error {
		kv, err := js.KeyValue(ctx, stats.Bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			return nil // no ingress has reported yet
		}
		if err != nil {
			return err
		}
		report, err = stats.Sum(ctx, kv, se.Namespace, se.Name)
		return err
	})
	if err != nil {
		logf.FromContext(ctx).V(1).Info("cannot read counters", "error", err.Error())
		return
	}
	r.reports.put(key, report, now)
	applyMatches(&m.Status, report.Matched[m.Name], report.LastEventTime, now)
}

// applyMatches sets eventsMatched, and lastMatchTime when the count grew: the
// environment's last event time, or now when the report has none.
func applyMatches(st *v1alpha1.EventMappingStatus, matched int64, lastEvent, now time.Time) {
	if matched > st.EventsMatched {
		at := lastEvent
		if at.IsZero() || at.After(now) {
			at = now
		}
		st.LastMatchTime = laterTime(st.LastMatchTime, at)
	}
	st.EventsMatched = matched
}

// setMappingReadyCondition reports whether the mapping compiles and has a
// SourceEnvironment to run in. A compile error comes first: it is the mapping's own.
func setMappingReadyCondition(st *v1alpha1.EventMappingStatus, gen int64, now time.Time, compileErr error, seFound bool, seName string) {
	set := func(status metav1.ConditionStatus, reason, msg string) {
		setCondition(&st.Conditions, gen, now, v1alpha1.ConditionReady, status, reason, msg)
	}
	switch {
	case compileErr != nil:
		set(metav1.ConditionFalse, v1alpha1.ReasonInvalidExpression, compileErr.Error())
	case !seFound:
		set(metav1.ConditionFalse, v1alpha1.ReasonSourceEnvironmentNotFound, fmt.Sprintf("SourceEnvironment %q does not exist", seName))
	default:
		set(metav1.ConditionTrue, v1alpha1.ReasonReady, fmt.Sprintf("compiled; live in SourceEnvironment %q", seName))
	}
}

func (r *EventMappingReconciler) patchStatus(ctx context.Context, before, m *v1alpha1.EventMapping, ok bool) error {
	if ok {
		m.Status.ObservedGeneration = m.Generation
	}
	if equality.Semantic.DeepEqual(before.Status, m.Status) {
		return nil
	}
	if err := r.client.Status().Patch(ctx, m, client.MergeFrom(before)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("patch status: %w", err)
	}
	return nil
}

func (r *EventMappingReconciler) setupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.EventMapping{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.SourceEnvironment{}, handler.EnqueueRequestsFromMapFunc(r.forSourceEnvironment),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("eventmapping").
		Complete(r)
}

// forSourceEnvironment maps a SourceEnvironment to its EventMappings, so that a mapping
// waiting for its environment becomes Ready when the environment appears.
func (r *EventMappingReconciler) forSourceEnvironment(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1alpha1.EventMappingList
	if err := r.client.List(ctx, &list, client.InNamespace(o.GetNamespace()),
		client.MatchingFields{indexMappingSourceEnvironment: o.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "list EventMappings", "sourceEnvironment", o.GetName())
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, m := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: m.Namespace, Name: m.Name}})
	}
	return reqs
}
