package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/celext"
	"inlet.dev/inlet/ingress/config"
)

// SourceReconciler validates Sources as the ingress will and counts the
// SourceEnvironments that use each. It is created by SetupWithManager.
type SourceReconciler struct {
	client   client.Client
	recorder events.EventRecorder
	clock    clockSource
}

// Reconcile checks one Source with config.CheckSource (its CEL compiles, its
// verification settings hold) and reports Ready True, or False with reason
// InvalidExpression (the message names the field and position) or InvalidSpec, and
// status.environments. Status is patched once, when it changed; an Event marks each
// change of Ready. An optimistic-lock conflict is not an error: the Source is read
// again shortly.
func (r *SourceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, reterr error) {
	defer func() { res, reterr = requeueOnConflict(ctx, res, reterr) }()
	src := &v1alpha1.Source{}
	if err := r.client.Get(ctx, req.NamespacedName, src); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := src.DeepCopy()
	defer func() {
		if err := r.patchStatus(ctx, before, src, reterr == nil); err != nil {
			reterr = kerrors.NewAggregate([]error{reterr, err})
		}
	}()

	var envs v1alpha1.SourceEnvironmentList
	if err := r.client.List(ctx, &envs, client.InNamespace(src.Namespace),
		client.MatchingFields{indexSourceEnvironmentSource: src.Name}); err != nil {
		return ctrl.Result{}, fmt.Errorf("list sourceenvironments of source %s: %w", src.Name, err)
	}
	src.Status.Environments = int32(len(envs.Items))
	setSourceReadyCondition(&src.Status, src.Generation, r.clock.Now(), config.CheckSource(src))
	eventOnTransition(r.recorder, src, before.Status.Conditions, src.Status.Conditions, v1alpha1.ConditionReady, announceChanges)
	return ctrl.Result{}, nil
}

// setSourceReadyCondition turns CheckSource's verdict into the Ready condition.
func setSourceReadyCondition(st *v1alpha1.SourceStatus, gen int64, now time.Time, checkErr error) {
	if checkErr == nil {
		setCondition(&st.Conditions, gen, now, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady, "the Source is valid")
		return
	}
	reason := v1alpha1.ReasonInvalidSpec
	if ce := (*celext.CompileError)(nil); errors.As(checkErr, &ce) {
		reason = v1alpha1.ReasonInvalidExpression
	}
	setCondition(&st.Conditions, gen, now, v1alpha1.ConditionReady, metav1.ConditionFalse, reason, checkErr.Error())
}

func (r *SourceReconciler) patchStatus(ctx context.Context, before, src *v1alpha1.Source, ok bool) error {
	if ok {
		src.Status.ObservedGeneration = src.Generation
	}
	return patchStatus(ctx, r.client, before, src, func(src *v1alpha1.Source) any { return src.Status })
}

func (r *SourceReconciler) setupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Source{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.SourceEnvironment{}, handler.EnqueueRequestsFromMapFunc(sourceOfSourceEnvironment),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("source").
		Complete(r)
}

// sourceOfSourceEnvironment maps a SourceEnvironment to its Source, whose status counts
// the environments using it.
func sourceOfSourceEnvironment(_ context.Context, o client.Object) []reconcile.Request {
	se, ok := o.(*v1alpha1.SourceEnvironment)
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: se.Namespace, Name: se.Spec.SourceRef.Name}}}
}
