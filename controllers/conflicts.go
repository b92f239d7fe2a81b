package controllers

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// conflictRequeue is about how soon an object is reconciled again after an
// optimistic-lock conflict; jitter is added.
const conflictRequeue = 200 * time.Millisecond

// requeueOnConflict turns an error made only of optimistic-lock conflicts into a quick
// requeue: someone else wrote the object (or created the child) since the operator read
// it, and the next reconcile reads it again. That is routine, so it is logged at debug
// level only, never as a reconcile error. Any other error is returned as it is.
func requeueOnConflict(ctx context.Context, res ctrl.Result, err error) (ctrl.Result, error) {
	if err == nil || !onlyConflicts(err) {
		return res, err
	}
	logf.FromContext(ctx).V(1).Info("optimistic-lock conflict, reconciling again", "error", err.Error())
	return ctrl.Result{RequeueAfter: conflictRequeue + rand.N(conflictRequeue)}, nil
}

// onlyConflicts reports whether err is a conflict, or an aggregate or join of nothing
// but conflicts. A Create that finds the object already there (the cache had not seen
// it yet) counts as one.
func onlyConflicts(err error) bool {
	var errs []error
	if agg, ok := errors.AsType[kerrors.Aggregate](err); ok {
		errs = agg.Errors()
	} else if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	if errs == nil {
		return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
	}
	n := 0
	for _, e := range errs {
		if e == nil {
			continue
		}
		if !onlyConflicts(e) {
			return false
		}
		n++
	}
	return n > 0
}
