//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/api/v1alpha1"
)

const (
	// liveEditLimit is how soon an edited EventMapping must be live in every ingress pod.
	liveEditLimit = 2 * time.Second
	// rotationLimit is how soon a Secret rotated in place must be accepted by every
	// ingress pod.
	rotationLimit = 5 * time.Second
	// streak is how many events in a row, each on a new connection (so on a pod
	// kube-proxy picks at random), must show a change before it counts as live
	// everywhere.
	streak = 10
)

// TestStatusAndLiveChanges checks what a user sees while operating inlet, on
// stripe-production: `kubectl get sourceenvironments` counts the events and actions
// received; an edited EventMapping is live within 2s without a restart; an EventMapping
// whose CEL does not compile says so in its status while the other mappings keep
// working; a signing Secret rotated in place is accepted within seconds, with no ingress
// pod restarted or replaced.
func TestStatusAndLiveChanges(t *testing.T) {
	dumpOnFailure(t)
	const name = "stripe-production"
	const eventType = "customer.subscription.created"
	kc := cl.Client()
	se := waitSourceEnvironmentReady(t, kc, name)
	waitIngressReady(t, kc, name)
	actions := openActionStream(t, se.Spec.ActionStream())

	t.Run("kubectl get sourceenvironments counts events and actions", func(t *testing.T) {
		cs := clientset(t)
		counter := func(cols map[string]string, col string) int64 {
			n, err := strconv.ParseInt(cols[col], 10, 64)
			if cols[col] != "" && err != nil {
				t.Fatalf("column %s of %s is %q, not a number", col, name, cols[col])
			}
			return n
		}
		before := printedColumns(t, cs, "sourceenvironments")[name]
		if before == nil {
			t.Fatalf("kubectl get sourceenvironments shows no %s", name)
		}
		events0, actions0 := counter(before, "Events"), counter(before, "Actions")

		s := newSender(t, kc, name, keepAliveClient(1))
		if a := s.postOnceReachable(t, s.samples(t, eventType)(uniqueKey("counters"))); a.Status/100 != 2 || a.Actions == 0 {
			t.Fatalf("a signed event: answered %s; want 2xx with actions", a)
		}
		took := waitUntil(t, statusTimeout, "the Events and Actions columns of kubectl get sourceenvironments to rise", func() (bool, string) {
			cols := printedColumns(t, cs, "sourceenvironments")[name]
			events, actions := counter(cols, "Events"), counter(cols, "Actions")
			return events > events0 && actions > actions0,
				"Events " + strconv.FormatInt(events, 10) + " (was " + strconv.FormatInt(events0, 10) + "), Actions " +
					strconv.FormatInt(actions, 10) + " (was " + strconv.FormatInt(actions0, 10) + ")"
		})
		out, _ := cl.Kubectl(t.Context(), "get", "sourceenvironments", "-n", cl.Namespace)
		t.Logf("counters rose %s after the event was answered:\n%s", took.Round(time.Second), out)
	})

	t.Run("an edited EventMapping is live within 2s", func(t *testing.T) {
		ctx := t.Context()
		m := &v1alpha1.EventMapping{ObjectMeta: metav1.ObjectMeta{Namespace: cl.Namespace, Name: "stripe-subscription-created"}}
		if err := kc.Get(ctx, types.NamespacedName{Namespace: cl.Namespace, Name: m.Name}, m); err != nil {
			t.Fatal(err)
		}
		trigger := slices.IndexFunc(m.Spec.Actions, func(a v1alpha1.Action) bool { return a.TriggerWorkflow != nil })
		if trigger < 0 {
			t.Fatalf("EventMapping %s has no triggerWorkflow action to edit", m.Name)
		}
		restore := keepSpec(t, m)
		oldWorkflow := string(m.Spec.Actions[trigger].TriggerWorkflow.Workflow)
		newWorkflow := "subscription-hello-" + runID

		s := newSender(t, kc, name, freshConnClient())
		next := s.samples(t, eventType)
		// workflowIs is a try for untilStreak: an event is answered 2xx and its
		// triggerWorkflow action names workflow.
		workflowIs := func(workflow string) func() (bool, string) {
			return func() (bool, string) {
				d := next(uniqueKey("edit"))
				from := actions.lastSeq(t)
				a, err := s.post(ctx, d)
				if err != nil || a.Status/100 != 2 {
					t.Fatalf("an event while the mapping changes: answered %s, %v; want 2xx", a, err)
				}
				for _, sa := range actionsOf(actions.since(t, from), name, d.key) {
					if sa.Action.Action == string(v1alpha1.ActionTriggerWorkflow) {
						return sa.Action.Params["workflow"] == workflow, fmt.Sprintf("workflow %v", sa.Action.Params["workflow"])
					}
				}
				return false, "no triggerWorkflow action stored"
			}
		}
		if err := updateWithRetry(ctx, kc, m, func(m *v1alpha1.EventMapping) {
			m.Spec.Actions[trigger].TriggerWorkflow.Workflow = v1alpha1.Key(newWorkflow)
		}); err != nil {
			t.Fatalf("edit EventMapping %s: %v", m.Name, err)
		}
		acked := time.Now()
		took := untilStreak(t, acked, "the edited workflow key in the actions", workflowIs(newWorkflow))
		t.Logf("the edited EventMapping was live in every ingress pod %s after the API server acknowledged the update", took.Round(time.Millisecond))
		if took > liveEditLimit {
			t.Errorf("the edited EventMapping took %s to be live everywhere; want at most %s", took.Round(time.Millisecond), liveEditLimit)
		}

		// Put it back, and wait until it is live again, for the checks that follow.
		restore()
		untilStreak(t, time.Now(), "the original workflow key in the actions again", workflowIs(oldWorkflow))
	})

	t.Run("broken CEL is reported and the other mappings keep working", func(t *testing.T) {
		ctx := t.Context()
		m := &v1alpha1.EventMapping{ObjectMeta: metav1.ObjectMeta{Namespace: cl.Namespace, Name: "stripe-winback"}}
		if err := kc.Get(ctx, types.NamespacedName{Namespace: cl.Namespace, Name: m.Name}, m); err != nil {
			t.Fatal(err)
		}
		restore := keepSpec(t, m)
		if err := updateWithRetry(ctx, kc, m, func(m *v1alpha1.EventMapping) {
			m.Spec.When = "body.data.object.cancel_at_period_end == " // incomplete
		}); err != nil {
			t.Fatalf("break EventMapping %s: %v", m.Name, err)
		}
		var message string
		waitUntil(t, readyTimeout, "EventMapping "+m.Name+" to report its broken expression", func() (bool, string) {
			if err := kc.Get(ctx, types.NamespacedName{Namespace: cl.Namespace, Name: m.Name}, m); err != nil {
				return false, err.Error()
			}
			c := meta.FindStatusCondition(m.Status.Conditions, v1alpha1.ConditionReady)
			if c == nil || c.ObservedGeneration != m.Generation {
				return false, "no Ready condition for the edited generation yet"
			}
			message = c.Message
			return c.Status == metav1.ConditionFalse && c.Reason == v1alpha1.ReasonInvalidExpression && strings.Contains(c.Message, "when"),
				"Ready=" + string(c.Status) + ", reason " + c.Reason + ": " + c.Message + " (want False, " + v1alpha1.ReasonInvalidExpression + ", naming spec.when)"
		})
		t.Logf("EventMapping %s reports: %s", m.Name, message)

		// The SourceEnvironment's other mappings still turn events into actions.
		s := newSender(t, kc, name, keepAliveClient(1))
		d := s.samples(t, eventType)(uniqueKey("broken"))
		from := actions.lastSeq(t)
		a, err := s.post(ctx, d)
		if err != nil || a.Status/100 != 2 {
			t.Fatalf("an event for a working mapping beside a broken one: answered %s, %v; want 2xx", a, err)
		}
		checkActions(t, actionsOf(actions.since(t, from), name, d.key), sampleActions(t, name), eventType)
		if err := kc.Get(ctx, types.NamespacedName{Namespace: cl.Namespace, Name: name}, se); err != nil {
			t.Fatal(err)
		}
		if !meta.IsStatusConditionTrue(se.Status.Conditions, v1alpha1.ConditionReady) {
			t.Errorf("SourceEnvironment %s is not Ready beside a broken mapping: %+v", name, meta.FindStatusCondition(se.Status.Conditions, v1alpha1.ConditionReady))
		}

		restore()
		waitEventMappingReady(t, kc, m.Name)
	})

	t.Run("a Secret rotated in place is accepted without restarts", func(t *testing.T) {
		ctx := t.Context()
		_, pods := waitIngressReady(t, kc, name)
		restartsBefore := map[string]int32{}
		for i := range pods {
			restartsBefore[pods[i].Name] = restarts(&pods[i])
		}
		ref := se.Spec.SigningSecretRefs[0]
		key := secretRefKey(ref)
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: cl.Namespace, Name: ref.Name}}
		old := secretValue(t, kc, ref.Name, key)
		rotated := "whsec_e2e_rotated_" + runID
		setSecret := func(ctx context.Context, value string) error {
			return updateWithRetry(ctx, kc, sec, func(s *corev1.Secret) {
				if s.Data == nil {
					s.Data = map[string][]byte{}
				}
				s.Data[key] = []byte(value)
			})
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := setSecret(ctx, old); err != nil {
				t.Errorf("put Secret %s back: %v", ref.Name, err)
			}
		})

		s := newSender(t, kc, name, freshConnClient())
		next := s.samples(t, eventType)
		if err := setSecret(ctx, rotated); err != nil {
			t.Fatalf("rotate Secret %s: %v", ref.Name, err)
		}
		acked := time.Now()
		took := untilStreak(t, acked, "events signed with the rotated secret accepted", acceptedWith(t, s.signedWith(rotated), next))
		t.Logf("the rotated secret was accepted by every ingress pod %s after the API server acknowledged the update", took.Round(time.Millisecond))
		if took > rotationLimit {
			t.Errorf("the rotated secret took %s to be accepted everywhere; want at most %s", took.Round(time.Millisecond), rotationLimit)
		}
		if a, err := s.signedWith(old).post(ctx, next(uniqueKey("rotated-old"))); err != nil || a.Status != http.StatusUnauthorized {
			t.Errorf("an event signed with the secret replaced in place: answered %s, %v; want 401", a, err)
		}

		_, after := waitIngressReady(t, kc, name)
		for i := range after {
			p := &after[i]
			n, ok := restartsBefore[p.Name]
			switch {
			case !ok:
				t.Errorf("pod %s is new: the rotation replaced ingress pods (before: %v)", p.Name, restartsBefore)
			case restarts(p) != n:
				t.Errorf("pod %s restarted %d times during the rotation", p.Name, restarts(p)-n)
			}
		}

		// Put it back, and wait until it is accepted again, for the tests that follow.
		if err := setSecret(ctx, old); err != nil {
			t.Fatalf("put Secret %s back: %v", ref.Name, err)
		}
		untilStreak(t, time.Now(), "events signed with the restored secret accepted", acceptedWith(t, s.signedWith(old), next))
	})
}

// untilStreak calls try, back to back, until it reports success streak times in a
// row, within a minute, and returns the time from since to the start of the try that
// began the streak: from then on every try saw the change.
func untilStreak(t *testing.T, since time.Time, what string, try func() (bool, string)) time.Duration {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var streakStart time.Time
	var last string // what the last try that did not see the change saw
	for n := 0; n < streak; {
		if time.Now().After(deadline) {
			t.Fatalf("%s %d times in a row: not within a minute; last seen: %s", what, streak, last)
		}
		start := time.Now()
		ok, detail := try()
		switch {
		case !ok:
			n, last = 0, detail
		case n == 0:
			n, streakStart = 1, start
		default:
			n++
		}
	}
	return streakStart.Sub(since)
}

// acceptedWith returns a try for untilStreak: an event from next, signed by s, is
// answered 2xx. A 401 is not yet; any other answer fails the test.
func acceptedWith(t *testing.T, s *sender, next func(string) delivery) func() (bool, string) {
	return func() (bool, string) {
		a, err := s.post(t.Context(), next(uniqueKey("rotation")))
		switch {
		case err != nil:
			t.Fatalf("an event while the Secret changes: %v", err)
		case a.Status/100 == 2:
			return true, a.String()
		case a.Status != http.StatusUnauthorized:
			t.Fatalf("an event while the Secret changes: answered %s; want 2xx, or 401 until the change is picked up", a)
		}
		return false, a.String()
	}
}

// keepSpec remembers m's spec as it is now and returns a function that puts it back.
// The end of the test puts it back too, when the test failed before.
func keepSpec(t *testing.T, m *v1alpha1.EventMapping) (restore func()) {
	spec := *m.Spec.DeepCopy()
	key := types.NamespacedName{Namespace: m.Namespace, Name: m.Name}
	put := func(ctx context.Context) error {
		cur := &v1alpha1.EventMapping{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
		return updateWithRetry(ctx, cl.Client(), cur, func(cur *v1alpha1.EventMapping) { cur.Spec = spec })
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := put(ctx); err != nil {
			t.Errorf("put EventMapping %s back: %v", key, err)
		}
	})
	return func() {
		t.Helper()
		if err := put(t.Context()); err != nil {
			t.Fatalf("put EventMapping %s back: %v", key, err)
		}
	}
}
