package controllers

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
)

// setCondition sets a condition on conds with the object's generation as its
// observedGeneration. lastTransitionTime is now when the status flips and kept
// otherwise. It reports whether anything changed.
func setCondition(
	conds *[]metav1.Condition, generation int64, now time.Time, typ string, status metav1.ConditionStatus, reason, message string,
) bool {
	return meta.SetStatusCondition(conds, metav1.Condition{
		Type:               typ,
		Status:             status,
		ObservedGeneration: generation,
		LastTransitionTime: metav1.NewTime(now.Truncate(time.Second)),
		Reason:             reason,
		Message:            message,
	})
}

// conditionStatus turns a bool into a condition status.
func conditionStatus(ok bool) metav1.ConditionStatus {
	if ok {
		return metav1.ConditionTrue
	}
	return metav1.ConditionFalse
}

// transition says whether condition typ moved between old and cur: it appeared, or its
// status or reason changed. Messages alone do not count: they may carry numbers.
func transition(old, cur []metav1.Condition, typ string) (before, after *metav1.Condition, changed bool) {
	before, after = meta.FindStatusCondition(old, typ), meta.FindStatusCondition(cur, typ)
	if after == nil {
		return before, nil, false
	}
	if before == nil {
		return nil, after, true
	}
	return before, after, before.Status != after.Status || before.Reason != after.Reason
}

// eventOnTransition records an Event when condition typ moved between old and cur (see
// transition): Normal when it is now True, Warning when False. reason names the Event
// from the condition before (nil when it was not set) and after, or returns "" to
// record nothing; a resource still coming up, for instance, is not news.
func eventOnTransition(
	rec events.EventRecorder, obj runtime.Object, old, cur []metav1.Condition, typ string,
	reason func(before, after *metav1.Condition) string,
) {
	before, after, changed := transition(old, cur, typ)
	if !changed || rec == nil {
		return
	}
	name := reason(before, after)
	if name == "" {
		return
	}
	eventType := corev1.EventTypeWarning
	if after.Status == metav1.ConditionTrue {
		eventType = corev1.EventTypeNormal
	}
	rec.Eventf(obj, nil, eventType, name, "Reconcile", "%s is %s: %s", typ, after.Status, after.Message)
}

// announceChanges is the usual event policy: a condition set for the first time is
// announced only when False (something is wrong from the start), a later change always,
// with the condition's reason.
func announceChanges(before, after *metav1.Condition) string {
	if before == nil && after.Status == metav1.ConditionTrue {
		return ""
	}
	return after.Reason
}

// announceLaterChanges announces a condition's changes but not its first value: the
// first value of a part that is still coming up is not news.
func announceLaterChanges(before, after *metav1.Condition) string {
	if before == nil {
		return ""
	}
	return after.Reason
}
