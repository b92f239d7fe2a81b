package controllers

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/nats-io/nats.go/jetstream"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/diff"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/celext"
	"inlet.dev/inlet/ingress/config"
	inletjs "inlet.dev/inlet/ingress/jetstream"
)

var (
	t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Hour)
)

// cond returns a Ready condition.
func cond(status metav1.ConditionStatus, reason string, gen int64, at time.Time) metav1.Condition {
	return metav1.Condition{Type: v1alpha1.ConditionReady, Status: status, Reason: reason, ObservedGeneration: gen, LastTransitionTime: metav1.NewTime(at)}
}

func TestSetCondition(t *testing.T) {
	tests := map[string]struct {
		have        []metav1.Condition
		status      metav1.ConditionStatus
		reason      string
		wantChanged bool
		wantTime    time.Time
	}{
		"first": {
			status: metav1.ConditionTrue, reason: "Ready", wantChanged: true, wantTime: t1,
		},
		"same status keeps the transition time": {
			have:   []metav1.Condition{cond(metav1.ConditionFalse, "A", 1, t0)},
			status: metav1.ConditionFalse, reason: "B", wantChanged: true, wantTime: t0,
		},
		"flip moves the transition time": {
			have:   []metav1.Condition{cond(metav1.ConditionFalse, "A", 2, t0)},
			status: metav1.ConditionTrue, reason: "Ready", wantChanged: true, wantTime: t1,
		},
		"nothing new": {
			have:   []metav1.Condition{cond(metav1.ConditionTrue, "Ready", 2, t0)},
			status: metav1.ConditionTrue, reason: "Ready", wantChanged: false, wantTime: t0,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			conds := tt.have
			changed := setCondition(&conds, 2, t1.Add(300*time.Millisecond), "Ready", tt.status, tt.reason, "")
			c := meta.FindStatusCondition(conds, "Ready")
			if changed != tt.wantChanged || c.ObservedGeneration != 2 || !c.LastTransitionTime.Time.Equal(tt.wantTime) {
				t.Errorf("changed %v, observedGeneration %d, lastTransitionTime %v; want %v, 2, %v",
					changed, c.ObservedGeneration, c.LastTransitionTime, tt.wantChanged, tt.wantTime)
			}
		})
	}
}

func TestSourceEnvironmentConditions(t *testing.T) {
	available := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "x-ingress"},
		Spec:       appsv1.DeploymentSpec{Replicas: new(int32(2))},
		Status:     appsv1.DeploymentStatus{AvailableReplicas: 1, ReadyReplicas: 1},
	}
	starting := available.DeepCopy()
	starting.Status = appsv1.DeploymentStatus{}
	scaledDown := available.DeepCopy()
	scaledDown.Spec.Replicas = new(int32(0))

	type want struct{ status, reason string }
	tests := map[string]struct {
		inProcess  bool
		deployment *appsv1.Deployment
		streamsErr error
		problem    *config.Problem
		ingress    want
		streams    want
		ready      want
	}{
		"all good": {
			deployment: available,
			ingress:    want{"True", v1alpha1.ReasonDeploymentAvailable},
			streams:    want{"True", v1alpha1.ReasonStreamsReady},
			ready:      want{"True", v1alpha1.ReasonReady},
		},
		"in process": {
			inProcess: true,
			ingress:   want{"True", v1alpha1.ReasonInProcess},
			streams:   want{"True", v1alpha1.ReasonStreamsReady},
			ready:     want{"True", v1alpha1.ReasonReady},
		},
		"configuration comes first": {
			deployment: starting, streamsErr: inletjs.ErrUnavailable,
			problem: &config.Problem{Reason: v1alpha1.ReasonSecretNotFound, Message: "signingSecretRefs: Secret \"s\" not found"},
			ingress: want{"False", v1alpha1.ReasonDeploymentUnavailable},
			streams: want{"False", v1alpha1.ReasonNATSUnavailable},
			ready:   want{"False", v1alpha1.ReasonSecretNotFound},
		},
		"then NATS, which ingress pods need to be ready": {
			deployment: starting, streamsErr: fmt.Errorf("NATS at nats://nats:4222: %w: no servers available", inletjs.ErrUnavailable),
			ingress: want{"False", v1alpha1.ReasonDeploymentUnavailable},
			streams: want{"False", v1alpha1.ReasonNATSUnavailable},
			ready:   want{"False", v1alpha1.ReasonNATSUnavailable},
		},
		"then the ingress": {
			deployment: starting,
			ingress:    want{"False", v1alpha1.ReasonDeploymentUnavailable},
			streams:    want{"True", v1alpha1.ReasonStreamsReady},
			ready:      want{"False", v1alpha1.ReasonDeploymentUnavailable},
		},
		"no deployment": {
			ingress: want{"False", v1alpha1.ReasonDeploymentUnavailable},
			streams: want{"True", v1alpha1.ReasonStreamsReady},
			ready:   want{"False", v1alpha1.ReasonDeploymentUnavailable},
		},
		"scaled to zero": {
			deployment: scaledDown,
			ingress:    want{"False", v1alpha1.ReasonDeploymentUnavailable},
			streams:    want{"True", v1alpha1.ReasonStreamsReady},
			ready:      want{"False", v1alpha1.ReasonDeploymentUnavailable},
		},
		"NATS unreachable": {
			deployment: available, streamsErr: fmt.Errorf("%w: nats: no servers available", inletjs.ErrUnavailable),
			ingress: want{"True", v1alpha1.ReasonDeploymentAvailable},
			streams: want{"False", v1alpha1.ReasonNATSUnavailable},
			ready:   want{"False", v1alpha1.ReasonNATSUnavailable},
		},
		"NATS refuses the streams": {
			deployment: starting, streamsErr: errors.New("nats: API error: code=400 err_code=10065 description=subjects overlap with an existing stream"),
			ingress: want{"False", v1alpha1.ReasonDeploymentUnavailable},
			streams: want{"False", v1alpha1.ReasonNATSError},
			ready:   want{"False", v1alpha1.ReasonNATSError},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			st := &v1alpha1.SourceEnvironmentStatus{Endpoint: "https://e.example/e/ns/x"}
			setIngressAvailableCondition(st, 3, t0, tt.inProcess, tt.deployment)
			setStreamsReadyCondition(st, 3, t0, tt.streamsErr, "streams exist")
			setSourceEnvironmentReadyCondition(st, 3, t0, tt.problem)
			for typ, w := range map[string]want{
				v1alpha1.ConditionIngressAvailable: tt.ingress,
				v1alpha1.ConditionStreamsReady:     tt.streams,
				v1alpha1.ConditionReady:            tt.ready,
			} {
				c := meta.FindStatusCondition(st.Conditions, typ)
				if c == nil || string(c.Status) != w.status || c.Reason != w.reason || c.ObservedGeneration != 3 {
					t.Errorf("%s = %+v, want %s/%s at generation 3", typ, c, w.status, w.reason)
				}
			}
			if tt.problem != nil && meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady).Message != tt.problem.Message {
				t.Errorf("Ready message does not carry the problem's")
			}
		})
	}
}

func TestIdempotencyBudget(t *testing.T) {
	tests := map[string]struct {
		enabled    bool
		keys       int64
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		"off":          {enabled: false, keys: 10_000_000, wantStatus: metav1.ConditionTrue, wantReason: v1alpha1.ReasonWithinBudget},
		"within":       {enabled: true, keys: 5_000_000, wantStatus: metav1.ConditionTrue, wantReason: v1alpha1.ReasonWithinBudget},
		"over":         {enabled: true, keys: 5_000_001, wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.ReasonOverBudget},
		"none at all":  {enabled: true, keys: 0, wantStatus: metav1.ConditionTrue, wantReason: v1alpha1.ReasonWithinBudget},
		"far too many": {enabled: true, keys: 1 << 40, wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.ReasonOverBudget},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			st := &v1alpha1.SourceEnvironmentStatus{IdempotencyKeysHeld: tt.keys}
			keys := &keysHeld{stream: "INLET_ACTIONS", window: 24 * time.Hour, count: tt.keys}
			setIdempotencyCondition(st, 1, t0, tt.enabled, DefaultKeysBudget, keys)
			if err := hasCondition(st.Conditions, 1, v1alpha1.ConditionIdempotencyWithinBudget, tt.wantStatus, tt.wantReason); err != nil {
				t.Error(err)
			}
			c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionIdempotencyWithinBudget)
			if tt.enabled && (!strings.Contains(c.Message, fmt.Sprintf("stream INLET_ACTIONS holds %d idempotency keys", tt.keys)) || !strings.Contains(c.Message, "of memory on each NATS server")) {
				t.Errorf("message %q does not say what the stream holds and what memory that takes", c.Message)
			}
		})
	}
}

func TestRequeueOnConflict(t *testing.T) {
	gr := schema.GroupResource{Group: "inlet.dev", Resource: "sourceenvironments"}
	conflict := apierrors.NewConflict(gr, "x", errors.New("the object has been modified"))
	exists := apierrors.NewAlreadyExists(schema.GroupResource{Group: "apps", Resource: "deployments"}, "x-ingress")
	other := errors.New("connection refused")
	tests := map[string]struct {
		err       error
		wantQuiet bool
	}{
		"a conflict":                       {err: conflict, wantQuiet: true},
		"a wrapped conflict":               {err: fmt.Errorf("add finalizer: %w", conflict), wantQuiet: true},
		"conflicts of several phases":      {err: kerrors.NewAggregate([]error{fmt.Errorf("apply: %w", conflict), exists}), wantQuiet: true},
		"a conflict and a real error":      {err: kerrors.NewAggregate([]error{conflict, other}), wantQuiet: false},
		"a joined conflict and real error": {err: errors.Join(conflict, other), wantQuiet: false},
		"a real error":                     {err: other, wantQuiet: false},
		"not found":                        {err: apierrors.NewNotFound(gr, "x"), wantQuiet: false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var logged []string
			log := funcr.New(func(prefix, args string) { logged = append(logged, args) }, funcr.Options{Verbosity: 0})
			ctx := logf.IntoContext(context.Background(), log)
			res, err := requeueOnConflict(ctx, ctrl.Result{}, tt.err)
			if tt.wantQuiet {
				if err != nil || res.RequeueAfter <= 0 || res.RequeueAfter > time.Second {
					t.Errorf("got %v, %v; want a requeue within a second and no error", res, err)
				}
				if len(logged) > 0 {
					t.Errorf("logged %v; a retried conflict is logged at debug level only", logged)
				}
				return
			}
			if err == nil || err.Error() != tt.err.Error() || res.RequeueAfter != 0 {
				t.Errorf("got %v, %v; want the error %v returned as it is", res, err, tt.err)
			}
		})
	}
}

func TestEndpointURL(t *testing.T) {
	se := &v1alpha1.SourceEnvironment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "segment-production"}}
	tests := map[string]struct {
		opts      Options
		usesToken bool
		want      string
	}{
		"public base":        {opts: Options{EndpointBaseURL: "https://events.example.com/"}, want: "https://events.example.com/e/shop/segment-production"},
		"service":            {want: "http://segment-production-ingress.shop.svc:8080/e/shop/segment-production"},
		"token":              {usesToken: true, want: "http://segment-production-ingress.shop.svc:8080/e/shop/segment-production/{token}"},
		"in process":         {opts: Options{InProcessIngress: true}, want: "http://localhost:8080/e/shop/segment-production"},
		"in process, public": {opts: Options{InProcessIngress: true, EndpointBaseURL: "http://127.0.0.1:9000"}, usesToken: true, want: "http://127.0.0.1:9000/e/shop/segment-production/{token}"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := endpointURL(tt.opts, se, tt.usesToken); got != tt.want {
				t.Errorf("endpoint = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLaterTime(t *testing.T) {
	have := metav1.NewTime(t1)
	tests := map[string]struct {
		have     *metav1.Time
		reported time.Time
		want     *metav1.Time
	}{
		"nothing reported":   {have: &have, want: &have},
		"first report":       {reported: t0.Add(500 * time.Millisecond), want: &metav1.Time{Time: t0}},
		"older report kept":  {have: &have, reported: t0, want: &have},
		"newer report moves": {have: &metav1.Time{Time: t0}, reported: t1, want: &have},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := laterTime(tt.have, tt.reported); !equality.Semantic.DeepEqual(got, tt.want) {
				t.Errorf("laterTime = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestApplyMatches(t *testing.T) {
	last := metav1.NewTime(t0)
	tests := map[string]struct {
		have      v1alpha1.EventMappingStatus
		matched   int64
		lastEvent time.Time
		want      v1alpha1.EventMappingStatus
	}{
		"no match yet":        {matched: 0, lastEvent: t1, want: v1alpha1.EventMappingStatus{}},
		"first matches":       {matched: 3, lastEvent: t0, want: v1alpha1.EventMappingStatus{EventsMatched: 3, LastMatchTime: &last}},
		"unchanged keeps":     {have: v1alpha1.EventMappingStatus{EventsMatched: 3, LastMatchTime: &last}, matched: 3, lastEvent: t1, want: v1alpha1.EventMappingStatus{EventsMatched: 3, LastMatchTime: &last}},
		"instance went away":  {have: v1alpha1.EventMappingStatus{EventsMatched: 3, LastMatchTime: &last}, matched: 1, lastEvent: t1, want: v1alpha1.EventMappingStatus{EventsMatched: 1, LastMatchTime: &last}},
		"no event time: now":  {matched: 1, want: v1alpha1.EventMappingStatus{EventsMatched: 1, LastMatchTime: &metav1.Time{Time: t1}}},
		"future time: now":    {matched: 1, lastEvent: t1.Add(time.Hour), want: v1alpha1.EventMappingStatus{EventsMatched: 1, LastMatchTime: &metav1.Time{Time: t1}}},
		"grown moves forward": {have: v1alpha1.EventMappingStatus{EventsMatched: 3, LastMatchTime: &last}, matched: 4, lastEvent: t1, want: v1alpha1.EventMappingStatus{EventsMatched: 4, LastMatchTime: &metav1.Time{Time: t1}}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			st := tt.have
			applyMatches(&st, tt.matched, tt.lastEvent, t1)
			if !equality.Semantic.DeepEqual(st, tt.want) {
				t.Errorf("status differs:\n%s", diff.Diff(tt.want, st))
			}
		})
	}
}

func TestMappingAndSourceReadyConditions(t *testing.T) {
	compileErr := &celext.CompileError{Field: "spec.when", Line: 1, Column: 5, Message: "undeclared reference to 'bdy'"}
	environment := func(conds ...metav1.Condition) *v1alpha1.SourceEnvironment {
		return &v1alpha1.SourceEnvironment{Status: v1alpha1.SourceEnvironmentStatus{Conditions: conds}}
	}
	ready := environment(metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonReady})
	tests := map[string]struct {
		set        func(*[]metav1.Condition)
		wantStatus metav1.ConditionStatus
		wantReason string
		wantIn     string
	}{
		"mapping compiles": {
			set: func(c *[]metav1.Condition) {
				st := &v1alpha1.EventMappingStatus{}
				setMappingReadyCondition(st, 1, t0, nil, ready, "se")
				*c = st.Conditions
			},
			wantStatus: metav1.ConditionTrue, wantReason: v1alpha1.ReasonReady,
		},
		"mapping of an environment not ready": {
			set: func(c *[]metav1.Condition) {
				st := &v1alpha1.EventMappingStatus{}
				broken := environment(metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse,
					Reason: v1alpha1.ReasonSecretNotFound, Message: `Secret "stripe-webhook" not found`})
				setMappingReadyCondition(st, 1, t0, nil, broken, "se")
				*c = st.Conditions
			},
			wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.ReasonSourceEnvironmentNotReady, wantIn: `SecretNotFound: Secret "stripe-webhook" not found`,
		},
		"mapping of an environment not yet reconciled": {
			set: func(c *[]metav1.Condition) {
				st := &v1alpha1.EventMappingStatus{}
				setMappingReadyCondition(st, 1, t0, nil, environment(), "se")
				*c = st.Conditions
			},
			wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.ReasonSourceEnvironmentNotReady, wantIn: `"se"`,
		},
		"mapping does not compile": {
			set: func(c *[]metav1.Condition) {
				st := &v1alpha1.EventMappingStatus{}
				setMappingReadyCondition(st, 1, t0, compileErr, nil, "se")
				*c = st.Conditions
			},
			wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.ReasonInvalidExpression, wantIn: "spec.when: line 1, column 5",
		},
		"mapping without environment": {
			set: func(c *[]metav1.Condition) {
				st := &v1alpha1.EventMappingStatus{}
				setMappingReadyCondition(st, 1, t0, nil, nil, "se")
				*c = st.Conditions
			},
			wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.ReasonSourceEnvironmentNotFound, wantIn: `"se"`,
		},
		"source valid": {
			set: func(c *[]metav1.Condition) {
				st := &v1alpha1.SourceStatus{}
				setSourceReadyCondition(st, 1, t0, nil)
				*c = st.Conditions
			},
			wantStatus: metav1.ConditionTrue, wantReason: v1alpha1.ReasonReady,
		},
		"source expression": {
			set: func(c *[]metav1.Condition) {
				st := &v1alpha1.SourceStatus{}
				setSourceReadyCondition(st, 1, t0, compileErr)
				*c = st.Conditions
			},
			wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.ReasonInvalidExpression, wantIn: "spec.when",
		},
		"source spec": {
			set: func(c *[]metav1.Condition) {
				st := &v1alpha1.SourceStatus{}
				setSourceReadyCondition(st, 1, t0, errors.New("headerAuth: unknown scheme"))
				*c = st.Conditions
			},
			wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.ReasonInvalidSpec, wantIn: "headerAuth",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var conds []metav1.Condition
			tt.set(&conds)
			if err := hasCondition(conds, 1, v1alpha1.ConditionReady, tt.wantStatus, tt.wantReason); err != nil {
				t.Error(err)
			}
			if !strings.Contains(conds[0].Message, tt.wantIn) {
				t.Errorf("message %q does not contain %q", conds[0].Message, tt.wantIn)
			}
		})
	}
}

func TestTransitionEvents(t *testing.T) {
	ready := func(status metav1.ConditionStatus, reason string) []metav1.Condition {
		return []metav1.Condition{cond(status, reason, 1, t0)}
	}
	tests := map[string]struct {
		old, cur []metav1.Condition
		policy   func(before, after *metav1.Condition) string
		want     []string
	}{
		"missing secret from the start": {
			cur: ready(metav1.ConditionFalse, v1alpha1.ReasonSecretNotFound), policy: readyEventReason,
			want: []string{"Warning SecretMissing"},
		},
		"recovered": {
			old: ready(metav1.ConditionFalse, v1alpha1.ReasonSecretNotFound), cur: ready(metav1.ConditionTrue, v1alpha1.ReasonReady),
			policy: readyEventReason, want: []string{"Normal Ready"},
		},
		"unchanged is quiet": {
			old: ready(metav1.ConditionFalse, v1alpha1.ReasonSecretNotFound), cur: ready(metav1.ConditionFalse, v1alpha1.ReasonSecretNotFound),
			policy: readyEventReason,
		},
		"ingress still starting is quiet": {
			cur: ready(metav1.ConditionFalse, v1alpha1.ReasonDeploymentUnavailable), policy: readyEventReason,
		},
		"first True of a part is quiet": {
			cur: ready(metav1.ConditionTrue, v1alpha1.ReasonReady), policy: announceChanges,
		},
		"first False of a part is announced": {
			cur: ready(metav1.ConditionFalse, v1alpha1.ReasonNATSUnavailable), policy: announceChanges,
			want: []string{"Warning NATSUnavailable"},
		},
		"later changes only": {
			cur: ready(metav1.ConditionFalse, v1alpha1.ReasonDeploymentUnavailable), policy: announceLaterChanges,
		},
		"a later loss is announced": {
			old: ready(metav1.ConditionTrue, v1alpha1.ReasonDeploymentAvailable), cur: ready(metav1.ConditionFalse, v1alpha1.ReasonDeploymentUnavailable),
			policy: announceLaterChanges, want: []string{"Warning DeploymentUnavailable"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			rec := events.NewFakeRecorder(10)
			eventOnTransition(rec, &corev1.Pod{}, tt.old, tt.cur, v1alpha1.ConditionReady, tt.policy)
			close(rec.Events)
			var got []string
			for e := range rec.Events {
				f := strings.Fields(e)
				got = append(got, f[0]+" "+f[1])
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("events %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStreamNeedsFor(t *testing.T) {
	se := func(name, url, stream string, window, retention time.Duration, deleting bool) v1alpha1.SourceEnvironment {
		e := v1alpha1.SourceEnvironment{ObjectMeta: metav1.ObjectMeta{Name: name}}
		e.Spec.Publish.NATSURL = url
		e.Spec.Publish.ActionStream = stream
		if window > 0 {
			e.Spec.Idempotency.Window = &v1alpha1.Duration{Duration: window}
		}
		if retention > 0 {
			e.Spec.Publish.LogRetention = &v1alpha1.Duration{Duration: retention}
		}
		if deleting {
			e.DeletionTimestamp = &metav1.Time{Time: t0}
		}
		return e
	}
	self := se("self", "", "", time.Hour, 24*time.Hour, false)
	tests := map[string]struct {
		all  []v1alpha1.SourceEnvironment
		want streamNeeds
	}{
		"alone": {
			all:  []v1alpha1.SourceEnvironment{self},
			want: streamNeeds{duplicateWindow: time.Hour, logRetention: 24 * time.Hour},
		},
		"the longest window and retention on the same stream and server": {
			all: []v1alpha1.SourceEnvironment{self,
				se("other", "nats://default:4222", "", 48*time.Hour, 0, false),
				se("explicit", "", v1alpha1.DefaultActionStream, 2*time.Hour, 200*time.Hour, false)},
			want: streamNeeds{duplicateWindow: 48 * time.Hour, logRetention: 200 * time.Hour},
		},
		"other streams, servers and deleted environments do not count": {
			all: []v1alpha1.SourceEnvironment{self,
				se("elsewhere", "nats://other:4222", "", 96*time.Hour, 500*time.Hour, false),
				se("own-stream", "", "OTHER", 96*time.Hour, 0, false),
				se("going", "", "", 96*time.Hour, 500*time.Hour, true)},
			want: streamNeeds{duplicateWindow: time.Hour, logRetention: 168 * time.Hour}, // own-stream logs to the same stream
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := streamNeedsFor(&self, tt.all, "nats://default:4222", StreamDefaults{})
			if got.duplicateWindow != tt.want.duplicateWindow || got.logRetention != tt.want.logRetention {
				t.Errorf("needs = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStreamNeedsSettings(t *testing.T) {
	replicas := func(n int32) *int32 { return &n }
	se := func(name string, f func(p *v1alpha1.PublishSpec)) v1alpha1.SourceEnvironment {
		e := v1alpha1.SourceEnvironment{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}
		if f != nil {
			f(&e.Spec.Publish)
		}
		return e
	}
	type stream struct {
		replicas     int
		storage      jetstream.StorageType
		storageAsked bool
		placement    *jetstream.Placement
		maxBytes     int64 // log stream only
	}
	gi := resource.MustParse("2Gi")
	tests := map[string]struct {
		self          func(p *v1alpha1.PublishSpec)
		others        []v1alpha1.SourceEnvironment
		defaults      StreamDefaults
		actions, logs stream
	}{
		"nothing set": {
			actions: stream{replicas: 1, storage: jetstream.FileStorage, maxBytes: -1},
			logs:    stream{replicas: 1, storage: jetstream.FileStorage, maxBytes: inletjs.DefaultLogMaxBytes},
		},
		"operator defaults": {
			defaults: StreamDefaults{Replicas: 3, Storage: v1alpha1.StreamStorageMemory, Placement: &v1alpha1.StreamPlacement{Cluster: "east"}, LogMaxBytes: 1 << 20},
			actions:  stream{replicas: 3, storage: jetstream.MemoryStorage, placement: &jetstream.Placement{Cluster: "east"}, maxBytes: -1},
			logs:     stream{replicas: 3, storage: jetstream.MemoryStorage, placement: &jetstream.Placement{Cluster: "east"}, maxBytes: 1 << 20},
		},
		"spec over defaults, storage required": {
			self: func(p *v1alpha1.PublishSpec) {
				p.ActionStreamSettings = v1alpha1.StreamSettings{Replicas: replicas(5), Storage: v1alpha1.StreamStorageFile,
					Placement: &v1alpha1.StreamPlacement{Tags: []string{"ssd"}}}
				p.LogStreamSettings = v1alpha1.StreamSettings{Replicas: replicas(1)}
				p.LogMaxBytes = &gi
			},
			defaults: StreamDefaults{Replicas: 3, Storage: v1alpha1.StreamStorageMemory},
			actions:  stream{replicas: 5, storage: jetstream.FileStorage, storageAsked: true, placement: &jetstream.Placement{Tags: []string{"ssd"}}, maxBytes: -1},
			logs:     stream{replicas: 1, storage: jetstream.MemoryStorage, maxBytes: 2 << 30},
		},
		"shared streams: highest replicas, first placement and storage by name, largest log bound": {
			self: func(p *v1alpha1.PublishSpec) {
				p.ActionStreamSettings = v1alpha1.StreamSettings{Replicas: replicas(1), Placement: &v1alpha1.StreamPlacement{Cluster: "west"}}
			},
			others: []v1alpha1.SourceEnvironment{
				se("z-unset", nil), // asks the default: 3
				se("a-first", func(p *v1alpha1.PublishSpec) {
					p.ActionStreamSettings = v1alpha1.StreamSettings{Storage: v1alpha1.StreamStorageMemory, Placement: &v1alpha1.StreamPlacement{Cluster: "east"}}
					p.LogMaxBytes = &gi
				}),
				se("elsewhere", func(p *v1alpha1.PublishSpec) {
					p.NATSURL = "nats://other:4222"
					p.ActionStreamSettings = v1alpha1.StreamSettings{Replicas: replicas(5)}
				}),
			},
			defaults: StreamDefaults{Replicas: 3},
			actions:  stream{replicas: 3, storage: jetstream.MemoryStorage, storageAsked: true, placement: &jetstream.Placement{Cluster: "east"}, maxBytes: -1},
			logs:     stream{replicas: 3, storage: jetstream.FileStorage, maxBytes: 2 << 30},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			self := se("self", tt.self)
			all := append([]v1alpha1.SourceEnvironment{self}, tt.others...)
			wants := streamNeedsFor(&self, all, "nats://default:4222", tt.defaults).streams(&self)
			for i, want := range []stream{tt.actions, tt.logs} {
				w := wants[i]
				got := stream{replicas: w.cfg.Replicas, storage: w.cfg.Storage, storageAsked: w.storageAsked, placement: w.cfg.Placement, maxBytes: w.cfg.MaxBytes}
				if !reflect.DeepEqual(want, got) {
					t.Errorf("stream %s:\n got %+v (placement %+v)\nwant %+v (placement %+v)", w.cfg.Name, got, got.placement, want, want.placement)
				}
			}
		})
	}
}
