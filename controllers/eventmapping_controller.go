package controllers

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
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
	// compiled remembers which mapping generations compile.
	compiled *mappingCache
	// counters keeps the last counters read per SourceEnvironment, so that its
	// mappings read the bucket once per resync between them.
	counters *stats.Cache
}

// Reconcile compiles one EventMapping and reports Ready: False with reason
// InvalidExpression (the message names the field and the line and column) when an
// expression does not compile, False with SourceEnvironmentNotFound when its
// SourceEnvironment does not exist, False with SourceEnvironmentNotReady while that
// SourceEnvironment is not Ready (its ingress does not serve the mapping), True
// otherwise; a change of the SourceEnvironment's Ready condition reconciles its
// mappings at once. A mapping's eventsMatched and lastMatchTime come from the ingress
// counters in NATS and are refreshed every resync interval. Status is patched once, when it changed; an Event marks each change of
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
	switch {
	case apierrors.IsNotFound(err):
		se = nil
	case err != nil:
		return ctrl.Result{}, fmt.Errorf("get sourceenvironment %s: %w", m.Spec.SourceEnvironmentRef.Name, err)
	}

	if se != nil && compileErr == nil {
		r.refreshMatches(ctx, m, se)
		res.RequeueAfter = r.opts.resync()
	}
	setMappingReadyCondition(&m.Status, m.Generation, r.clock.Now(), compileErr, se, m.Spec.SourceEnvironmentRef.Name)
	eventOnTransition(r.recorder, m, before.Status.Conditions, m.Status.Conditions, v1alpha1.ConditionReady, mappingReadyEventReason)
	return res, nil
}

// refreshMatches reads how many events the mapping matched from its
// SourceEnvironment's counters, as last read for any of its mappings within the resync
// interval. The counters carry no time per mapping, so
// when the count grew lastMatchTime is the environment's last event time, the latest
// the match can have happened. NATS failures leave the status as it was; the
// SourceEnvironment reports them.
func (r *EventMappingReconciler) refreshMatches(ctx context.Context, m *v1alpha1.EventMapping, se *v1alpha1.SourceEnvironment) {
	now := r.clock.Now()
	key := types.NamespacedName{Namespace: se.Namespace, Name: se.Name}
	if report, ok := r.counters.Get(key, now); ok {
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
		var err error
		report, err = stats.Read(ctx, js, se.Namespace, se.Name)
		return err
	})
	if err != nil {
		logf.FromContext(ctx).V(1).Info("cannot read counters", "error", err.Error())
		return
	}
	r.counters.Put(key, report, now)
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

// setMappingReadyCondition reports whether the mapping compiles and is served: its
// SourceEnvironment se (nil when it does not exist) is Ready. A compile error comes
// first: it is the mapping's own.
func setMappingReadyCondition(
	st *v1alpha1.EventMappingStatus, gen int64, now time.Time, compileErr error, se *v1alpha1.SourceEnvironment, seName string,
) {
	set := func(status metav1.ConditionStatus, reason, msg string) {
		setCondition(&st.Conditions, gen, now, v1alpha1.ConditionReady, status, reason, msg)
	}
	var seReady *metav1.Condition
	if se != nil {
		seReady = meta.FindStatusCondition(se.Status.Conditions, v1alpha1.ConditionReady)
	}
	switch {
	case compileErr != nil:
		set(metav1.ConditionFalse, v1alpha1.ReasonInvalidExpression, compileErr.Error())
	case se == nil:
		set(metav1.ConditionFalse, v1alpha1.ReasonSourceEnvironmentNotFound, fmt.Sprintf("SourceEnvironment %q does not exist", seName))
	case seReady == nil:
		set(metav1.ConditionFalse, v1alpha1.ReasonSourceEnvironmentNotReady,
			fmt.Sprintf("compiled; not served until SourceEnvironment %q is Ready, which it has not reported yet", seName))
	case seReady.Status != metav1.ConditionTrue:
		set(metav1.ConditionFalse, v1alpha1.ReasonSourceEnvironmentNotReady,
			fmt.Sprintf("compiled; not served until SourceEnvironment %q is Ready (it is not: %s: %s)", seName, seReady.Reason, seReady.Message))
	default:
		set(metav1.ConditionTrue, v1alpha1.ReasonReady, fmt.Sprintf("compiled; live in SourceEnvironment %q", seName))
	}
}

func (r *EventMappingReconciler) patchStatus(ctx context.Context, before, m *v1alpha1.EventMapping, ok bool) error {
	if ok {
		m.Status.ObservedGeneration = m.Generation
	}
	return patchStatus(ctx, r.client, before, m, func(m *v1alpha1.EventMapping) any { return m.Status })
}

// mappingReadyEventReason is the Event policy of an EventMapping's Ready condition: that
// of announceChanges, except that a mapping waiting for its SourceEnvironment is not
// announced: the SourceEnvironment's own Events say what is wrong with it.
func mappingReadyEventReason(before, after *metav1.Condition) string {
	if after.Reason == v1alpha1.ReasonSourceEnvironmentNotReady {
		return ""
	}
	return announceChanges(before, after)
}

func (r *EventMappingReconciler) setupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.EventMapping{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.SourceEnvironment{}, handler.EnqueueRequestsFromMapFunc(r.forSourceEnvironment),
			builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, readyChanged()))).
		Named("eventmapping").
		Complete(r)
}

// readyChanged passes the updates that change an object's Ready condition, so that
// mappings follow their SourceEnvironment's readiness at once rather than at the next
// resync.
func readyChanged() predicate.Funcs {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !equality.Semantic.DeepEqual(readyOf(e.ObjectOld), readyOf(e.ObjectNew))
		},
		CreateFunc:  func(event.CreateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// readyOf returns what a SourceEnvironment's Ready condition says: status, reason and
// message; nil for another object or none.
func readyOf(o client.Object) *[3]string {
	se, ok := o.(*v1alpha1.SourceEnvironment)
	if !ok {
		return nil
	}
	c := meta.FindStatusCondition(se.Status.Conditions, v1alpha1.ConditionReady)
	if c == nil {
		return nil
	}
	return &[3]string{string(c.Status), c.Reason, c.Message}
}

// forSourceEnvironment maps a SourceEnvironment to its EventMappings, so that a mapping
// waiting for its environment becomes Ready when the environment appears and is
// Ready, and follows it when its readiness changes.
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
