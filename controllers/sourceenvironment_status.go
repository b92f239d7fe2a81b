package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/config"
	inletjs "inlet.dev/inlet/ingress/jetstream"
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
	switch {
	case !s.se.Spec.IdempotencyEnabled():
		st.IdempotencyKeysHeld = 0
	case s.keys != nil:
		st.IdempotencyKeysHeld = s.keys.count
	}

	gen := s.se.Generation
	setIngressAvailableCondition(st, gen, now, r.opts.InProcessIngress, s.deployment)
	setStreamsReadyCondition(st, gen, now, s.streamsErr, s.streams)
	setIdempotencyCondition(st, gen, now, s.se.Spec.IdempotencyEnabled(), r.opts.KeysBudget, s.keys)
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
	case v1alpha1.ReasonDeploymentUnavailable, v1alpha1.ReasonNATSUnavailable, v1alpha1.ReasonNATSError:
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

// setStreamsReadyCondition says whether the streams exist as configured: False with
// NATSUnavailable when NATS cannot be reached, with NATSError when it refused (no
// JetStream, permissions, a stream of the same subjects).
func setStreamsReadyCondition(st *v1alpha1.SourceEnvironmentStatus, gen int64, now time.Time, err error, ready string) {
	if err != nil {
		reason := v1alpha1.ReasonNATSError
		if errors.Is(err, inletjs.ErrUnavailable) {
			reason = v1alpha1.ReasonNATSUnavailable
		}
		setCondition(&st.Conditions, gen, now, v1alpha1.ConditionStreamsReady, metav1.ConditionFalse, reason, err.Error())
		return
	}
	setCondition(&st.Conditions, gen, now, v1alpha1.ConditionStreamsReady, metav1.ConditionTrue, v1alpha1.ReasonStreamsReady, ready)
}

// setIdempotencyCondition compares the keys the action stream's duplicate window holds
// (status.idempotencyKeysHeld) with the budget. keys describes the last count, nil
// when NATS could not be read; the condition then judges the count kept in status.
func setIdempotencyCondition(st *v1alpha1.SourceEnvironmentStatus, gen int64, now time.Time, enabled bool, budget int64, keys *keysHeld) {
	set := func(status metav1.ConditionStatus, reason, msg string) {
		setCondition(&st.Conditions, gen, now, v1alpha1.ConditionIdempotencyWithinBudget, status, reason, msg)
	}
	// What one server keeps: every id, or with partitions those of the fullest one.
	perServer := st.IdempotencyKeysHeld
	held := fmt.Sprintf("the duplicate window holds %d keys (about %s of memory on each NATS server with a replica)",
		st.IdempotencyKeysHeld, windowMemory(st.IdempotencyKeysHeld))
	switch {
	case keys != nil && keys.stream != "" && keys.partitions > 1:
		perServer = keys.largest
		held = fmt.Sprintf("streams %s hold %d idempotency keys (%d actions stored) in their duplicate window of %s, "+
			"at most %d in one partition: about %s of memory on each NATS server with a replica of it",
			keys.stream, st.IdempotencyKeysHeld, keys.messages, keys.window, perServer, windowMemory(perServer))
	case keys != nil && keys.stream != "":
		held = fmt.Sprintf("stream %s holds %d idempotency keys (%d actions stored) in its duplicate window of %s, "+
			"about %s of memory on each NATS server with a replica",
			keys.stream, st.IdempotencyKeysHeld, keys.messages, keys.window, windowMemory(st.IdempotencyKeysHeld))
	}
	switch {
	case !enabled:
		set(metav1.ConditionTrue, v1alpha1.ReasonWithinBudget, "idempotency is off: the duplicate window holds no keys")
	case perServer > budget:
		set(metav1.ConditionFalse, v1alpha1.ReasonOverBudget,
			fmt.Sprintf("%s, more than the budget of %d; shorten spec.idempotency.window", held, budget))
	default:
		set(metav1.ConditionTrue, v1alpha1.ReasonWithinBudget, fmt.Sprintf("%s, within the budget of %d", held, budget))
	}
}

// windowMemory is the NATS memory a duplicate window holding ids costs, in MiB or GiB.
func windowMemory(ids int64) string {
	b := float64(ids) * natsBytesPerID
	if b >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", b/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", b/(1<<20))
}

// setSourceEnvironmentReadyCondition is True only when every part works; otherwise its
// reason names the first part that does not, in this order: the configuration (Source,
// Secrets, spec), NATS and the streams, the ingress. NATS comes before the ingress
// because ingress pods are not ready without NATS: when both fail, NATS is the cause.
func setSourceEnvironmentReadyCondition(st *v1alpha1.SourceEnvironmentStatus, gen int64, now time.Time, problem *config.Problem) {
	set := func(status metav1.ConditionStatus, reason, msg string) {
		setCondition(&st.Conditions, gen, now, v1alpha1.ConditionReady, status, reason, msg)
	}
	if problem != nil {
		set(metav1.ConditionFalse, problem.Reason, problem.Message)
		return
	}
	for _, part := range []string{v1alpha1.ConditionStreamsReady, v1alpha1.ConditionIngressAvailable} {
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
