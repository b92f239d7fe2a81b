package controllers

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/config"
)

// updateStatus fills the SourceEnvironment's status from what the phases found, then
// records an Event for every condition that changed.
func (r *SourceEnvironmentReconciler) updateStatus(_ context.Context, s *sourceEnvironmentScope) {
	st := &s.se.Status
	now := r.clock.Now()

	st.Endpoint = endpointURL(r.opts, s.se, s.usesToken())
	switch {
	case s.usesToken():
		st.EndpointTokenSecretRef = &v1alpha1.SecretKeyReference{Name: config.EndpointTokenSecretName(s.se.Name), Key: config.EndpointTokenKey}
	case s.source != nil:
		st.EndpointTokenSecretRef = nil
	}
	st.ReadyReplicas = 0
	if s.deployment != nil {
		st.ReadyReplicas = s.deployment.Status.ReadyReplicas
	}
	st.Mappings = s.mappings
	if s.report != nil {
		st.EventsReceived = s.report.EventsReceived
		st.ActionsPublished = s.report.ActionsPublished
		st.LastEventTime = laterTime(st.LastEventTime, s.report.LastEventTime)
	}
	if s.rateKnown {
		st.IdempotencyKeysHeld = keysHeld(s.rate, s.se.Spec.IdempotencyWindow(), s.se.Spec.IdempotencyEnabled())
	}

	gen := s.se.Generation
	setIngressAvailableCondition(st, gen, now, r.opts.InProcessIngress, s.deployment)
	setStreamsReadyCondition(st, gen, now, s.streamsErr, s.streams)
	setIdempotencyCondition(st, gen, now, s.se.Spec.IdempotencyEnabled(), r.opts.KeysBudget)
	setSourceEnvironmentReadyCondition(st, gen, now, s.problem)

	old, cur := s.before.Status.Conditions, st.Conditions
	eventOnTransition(r.recorder, s.se, old, cur, v1alpha1.ConditionReady, readyEventReason)
	eventOnTransition(r.recorder, s.se, old, cur, v1alpha1.ConditionIngressAvailable, announceLaterChanges)
	eventOnTransition(r.recorder, s.se, old, cur, v1alpha1.ConditionStreamsReady, announceChanges)
	eventOnTransition(r.recorder, s.se, old, cur, v1alpha1.ConditionIdempotencyWithinBudget, announceChanges)
}

// readyEventReason is the Event policy of a SourceEnvironment's Ready condition. A
// missing Secret is announced as SecretMissing. Failures of the ingress or the streams
// are left to their own conditions' Events, and an ingress still starting is not news.
func readyEventReason(before, after *metav1.Condition) string {
	if after.Status == metav1.ConditionTrue {
		return after.Reason
	}
	switch after.Reason {
	case v1alpha1.ReasonSecretNotFound:
		return v1alpha1.EventSecretMissing
	case v1alpha1.ReasonDeploymentUnavailable, v1alpha1.ReasonNATSUnavailable:
		return ""
	}
	return after.Reason
}

// endpointURL is where senders post events: the operator's endpoint base URL (or the
// ingress Service's in-cluster URL), /e/<namespace>/<name>, and /{token} for sources
// that sign nothing. The token itself is only in its Secret.
func endpointURL(opts Options, se *v1alpha1.SourceEnvironment, usesToken bool) string {
	base := strings.TrimRight(opts.EndpointBaseURL, "/")
	if base == "" {
		if opts.InProcessIngress {
			base = DefaultInProcessEndpoint
		} else {
			base = fmt.Sprintf("http://%s.%s.svc:%d", ingressName(se.Name), se.Namespace, IngressPort)
		}
	}
	u := base + "/e/" + se.Namespace + "/" + se.Name
	if usesToken {
		u += "/{token}"
	}
	return u
}

// laterTime returns the later of a status time and a reported one, at the second
// precision status keeps.
func laterTime(have *metav1.Time, reported time.Time) *metav1.Time {
	if reported.IsZero() {
		return have
	}
	t := metav1.NewTime(reported.UTC().Truncate(time.Second))
	if have != nil && !have.Before(&t) {
		return have
	}
	return &t
}

// keysHeld estimates the keys a duplicate window holds: the event rate times the
// window, none when idempotency is off.
func keysHeld(ratePerSecond float64, window time.Duration, enabled bool) int64 {
	if !enabled || ratePerSecond <= 0 {
		return 0
	}
	return int64(math.Round(ratePerSecond * window.Seconds()))
}

// setIngressAvailableCondition says whether the ingress has a pod ready to receive
// events. dep is the ingress Deployment, nil when it could not be applied.
func setIngressAvailableCondition(st *v1alpha1.SourceEnvironmentStatus, gen int64, now time.Time, inProcess bool, dep *appsv1.Deployment) {
	set := func(status metav1.ConditionStatus, reason, msg string) {
		setCondition(&st.Conditions, gen, now, v1alpha1.ConditionIngressAvailable, status, reason, msg)
	}
	switch {
	case inProcess:
		set(metav1.ConditionTrue, v1alpha1.ReasonInProcess, "the ingress runs inside the operator's process")
	case dep == nil:
		set(metav1.ConditionFalse, v1alpha1.ReasonDeploymentUnavailable, "the ingress Deployment could not be applied; see the operator's log")
	case replicasOf(dep) == 0:
		set(metav1.ConditionFalse, v1alpha1.ReasonDeploymentUnavailable, fmt.Sprintf("Deployment %s is scaled to zero", dep.Name))
	case dep.Status.AvailableReplicas > 0:
		set(metav1.ConditionTrue, v1alpha1.ReasonDeploymentAvailable,
			fmt.Sprintf("Deployment %s has %d of %d pods available", dep.Name, dep.Status.AvailableReplicas, replicasOf(dep)))
	default:
		set(metav1.ConditionFalse, v1alpha1.ReasonDeploymentUnavailable,
			fmt.Sprintf("Deployment %s has no available pod yet (0 of %d)", dep.Name, replicasOf(dep)))
	}
}

// setStreamsReadyCondition says whether the streams exist as configured.
func setStreamsReadyCondition(st *v1alpha1.SourceEnvironmentStatus, gen int64, now time.Time, err error, ready string) {
	if err != nil {
		setCondition(&st.Conditions, gen, now, v1alpha1.ConditionStreamsReady, metav1.ConditionFalse, v1alpha1.ReasonNATSUnavailable, err.Error())
		return
	}
	setCondition(&st.Conditions, gen, now, v1alpha1.ConditionStreamsReady, metav1.ConditionTrue, v1alpha1.ReasonStreamsReady, ready)
}

// setIdempotencyCondition compares the keys the duplicate window holds with the budget.
func setIdempotencyCondition(st *v1alpha1.SourceEnvironmentStatus, gen int64, now time.Time, enabled bool, budget int64) {
	switch {
	case !enabled:
		setCondition(&st.Conditions, gen, now, v1alpha1.ConditionIdempotencyWithinBudget, metav1.ConditionTrue, v1alpha1.ReasonWithinBudget,
			"idempotency is off: the duplicate window holds no keys")
	case st.IdempotencyKeysHeld > budget:
		setCondition(&st.Conditions, gen, now, v1alpha1.ConditionIdempotencyWithinBudget, metav1.ConditionFalse, v1alpha1.ReasonOverBudget,
			fmt.Sprintf("the duplicate window holds about %d keys (event rate × window), more than the budget of %d; shorten spec.idempotency.window", st.IdempotencyKeysHeld, budget))
	default:
		setCondition(&st.Conditions, gen, now, v1alpha1.ConditionIdempotencyWithinBudget, metav1.ConditionTrue, v1alpha1.ReasonWithinBudget,
			fmt.Sprintf("the duplicate window holds fewer keys than the budget of %d", budget))
	}
}

// setSourceEnvironmentReadyCondition is True only when every part works; otherwise its
// reason names the first part that does not, in this order: the configuration (Source,
// Secrets, spec), the ingress, the streams.
func setSourceEnvironmentReadyCondition(st *v1alpha1.SourceEnvironmentStatus, gen int64, now time.Time, problem *config.Problem) {
	set := func(status metav1.ConditionStatus, reason, msg string) {
		setCondition(&st.Conditions, gen, now, v1alpha1.ConditionReady, status, reason, msg)
	}
	if problem != nil {
		set(metav1.ConditionFalse, problem.Reason, problem.Message)
		return
	}
	for _, part := range []string{v1alpha1.ConditionIngressAvailable, v1alpha1.ConditionStreamsReady} {
		c := meta.FindStatusCondition(st.Conditions, part)
		if c == nil {
			set(metav1.ConditionFalse, v1alpha1.ReasonReconciling, part+" is not known yet")
			return
		}
		if c.Status != metav1.ConditionTrue {
			set(metav1.ConditionFalse, c.Reason, c.Message)
			return
		}
	}
	set(metav1.ConditionTrue, v1alpha1.ReasonReady, "events are received at "+st.Endpoint)
}

// rateTracker remembers each SourceEnvironment's last event count, to turn counter
// deltas into an event rate. It is safe for concurrent use.
type rateTracker struct {
	mu      sync.Mutex
	samples map[types.NamespacedName]rateSample
}

type rateSample struct {
	events int64
	at     time.Time
	rate   float64
	known  bool
}

func newRateTracker() *rateTracker {
	return &rateTracker{samples: map[types.NamespacedName]rateSample{}}
}

// observe records a counter reading and returns the rate in events per second between
// the last two readings at least minGap apart; known is false until there are two.
// Readings closer together than minGap return the previous rate, so that a burst of
// reconciles does not measure noise. A counter that went down (an ingress instance
// restarted or stopped reporting) starts a new measurement.
func (t *rateTracker) observe(key types.NamespacedName, events int64, now time.Time, minGap time.Duration) (rate float64, known bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	prev, ok := t.samples[key]
	if !ok {
		t.samples[key] = rateSample{events: events, at: now}
		return 0, false
	}
	elapsed := now.Sub(prev.at)
	if elapsed < minGap || elapsed <= 0 {
		return prev.rate, prev.known
	}
	if events < prev.events {
		t.samples[key] = rateSample{events: events, at: now, rate: prev.rate, known: prev.known}
		return prev.rate, prev.known
	}
	rate = float64(events-prev.events) / elapsed.Seconds()
	t.samples[key] = rateSample{events: events, at: now, rate: rate, known: true}
	return rate, true
}

// forget drops a deleted SourceEnvironment's readings.
func (t *rateTracker) forget(key types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.samples, key)
}
