//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/controllers"
)

// The bounded load of TestNoLossUnderPodDeletionAndRollout.
const (
	loadWorkers = 8
	// loadEvery is how often each worker sends an event: at most 80 events a second in
	// all, each with a unique idempotency key.
	loadEvery = 100 * time.Millisecond
	// loadAtLeast is how long the load runs at least; it runs until the disruptions are
	// over, however long they take.
	loadAtLeast = 40 * time.Second
	// deliveryAttempts is how often a worker tries one event, as a provider retries
	// an event it got no 2xx for.
	deliveryAttempts = 10
)

// TestNoLossUnderPodDeletionAndRollout runs a bounded load of unique events through a
// SourceEnvironment's Service with 2 ingress replicas over keep-alive connections, as
// providers send, while one ingress pod is deleted and then the ingress Deployment is
// rolled. No event may be answered other than 2xx, no connection refused, and every
// event answered 2xx must have each of its actions stored on JetStream exactly once.
// A transport error is retried, as a provider would, and the retry must still store
// each action once; connection resets on reused keep-alive connections are counted and
// logged.
func TestNoLossUnderPodDeletionAndRollout(t *testing.T) {
	dumpOnFailure(t)
	const name = "stripe-production"
	const eventType = "customer.subscription.created"
	ctx := t.Context()
	kc := cl.Client()

	se := waitSourceEnvironmentReady(t, kc, name)
	dep, pods := waitIngressReady(t, kc, name)
	if wantedReplicas(dep) < 2 {
		t.Logf("%s has %d ingress replicas: setting spec.ingress.replicas to 2", name, wantedReplicas(dep))
		two := int32(2)
		if err := updateWithRetry(ctx, kc, se, func(se *v1alpha1.SourceEnvironment) { se.Spec.Ingress.Replicas = &two }); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, readyTimeout, "the operator to scale the ingress to 2", func() (bool, string) {
			if err := kc.Get(ctx, types.NamespacedName{Namespace: dep.Namespace, Name: dep.Name}, dep); err != nil {
				return false, err.Error()
			}
			return wantedReplicas(dep) >= 2, fmt.Sprintf("%d replicas", wantedReplicas(dep))
		})
		dep, pods = waitIngressReady(t, kc, name)
	}
	perEvent := 0
	for _, m := range mappingsOf(t, kc, name) {
		if m.Spec.EventType == eventType {
			if m.Spec.When != "" {
				t.Fatalf("EventMapping %s has a when condition: the test cannot tell how many actions an event makes", m.Name)
			}
			perEvent += len(m.Spec.Actions)
		}
	}
	if perEvent == 0 {
		t.Fatalf("no EventMapping of %s maps %s: nothing to count", name, eventType)
	}

	actions := openActionStream(t, se.Spec.ActionStream())
	s := newSender(t, kc, name, keepAliveClient(loadWorkers))
	next := s.samples(t, eventType)
	if a := s.postOnceReachable(t, next(uniqueKey("warmup"))); a.Status/100 != 2 {
		t.Fatalf("before the load: answered %s; want 2xx", a)
	}
	from := actions.lastSeq(t)

	load := startLoad(s, next, uniqueKey("load"))
	t.Cleanup(load.stop) // when a wait below fails
	load.waitAccepted(t, 50)

	// A user deletes an ingress pod.
	victim := pods[0]
	if err := kc.Delete(ctx, &victim); err != nil {
		t.Fatalf("delete pod %s: %v", victim.Name, err)
	}
	t.Logf("%s: deleted pod %s", time.Since(load.start).Round(time.Second), victim.Name)
	waitNotFound(t, kc, &victim, readyTimeout)
	_, pods = waitIngressReady(t, kc, name)
	t.Logf("%s: pod %s gone, the ingress runs again on %s", time.Since(load.start).Round(time.Second), victim.Name, describePods(pods))
	load.waitAccepted(t, load.accepted()+50)

	// A change of the pod template rolls the Deployment: here the container's memory
	// request.
	resources := ingressResources(t, dep)
	memory := resources.Requests[corev1.ResourceMemory]
	memory.Add(resource.MustParse("1Mi"))
	resources.Requests[corev1.ResourceMemory] = memory
	if err := updateWithRetry(ctx, kc, se, func(se *v1alpha1.SourceEnvironment) { se.Spec.Ingress.Resources = resources }); err != nil {
		t.Fatalf("change spec.ingress.resources of %s: %v", name, err)
	}
	t.Logf("%s: set the ingress memory request to %s: rolling update", time.Since(load.start).Round(time.Second), memory.String())
	waitUntil(t, readyTimeout, "the operator to put the new resources in the ingress Deployment", func() (bool, string) {
		if err := kc.Get(ctx, types.NamespacedName{Namespace: dep.Namespace, Name: dep.Name}, dep); err != nil {
			return false, err.Error()
		}
		have := ingressResources(t, dep).Requests[corev1.ResourceMemory]
		return have.Cmp(memory) == 0, "memory request " + have.String()
	})
	_, pods = waitIngressReady(t, kc, name)
	for _, p := range pods {
		for _, c := range p.Spec.Containers {
			if have := c.Resources.Requests[corev1.ResourceMemory]; c.Name == controllers.IngressContainerName && have.Cmp(memory) != 0 {
				t.Errorf("after the rollout, pod %s has memory request %s; want %s", p.Name, have.String(), memory.String())
			}
		}
	}
	t.Logf("%s: rolled out: %s", time.Since(load.start).Round(time.Second), describePods(pods))

	if rest := loadAtLeast - time.Since(load.start); rest > 0 {
		time.Sleep(rest) // the load runs its minimum length
	}
	load.stop()
	r := load.result()

	// Every event answered 2xx has each of its actions stored once.
	byKey := map[string][]storedAction{}
	msgIDs := map[string]int{}
	for _, a := range actions.since(t, from) {
		if a.Action.Source.SourceEnvironment == name && strings.HasPrefix(a.Action.Event.IdempotencyKey, load.prefix) {
			byKey[a.Action.Event.IdempotencyKey] = append(byKey[a.Action.Event.IdempotencyKey], a)
			msgIDs[a.MsgID]++
		}
	}
	var lost, duplicated int
	var examples []string
	for key := range r.accepted {
		stored := byKey[key]
		distinct := map[string]bool{}
		for _, a := range stored {
			distinct[fmt.Sprintf("%s#%d", a.Action.Mapping, a.Action.Position)] = true
		}
		if len(distinct) < perEvent {
			lost += perEvent - len(distinct)
			examples = append(examples, fmt.Sprintf("%s: %d of %d actions stored", key, len(distinct), perEvent))
		}
		if len(stored) > len(distinct) {
			duplicated += len(stored) - len(distinct)
			examples = append(examples, fmt.Sprintf("%s: %d actions stored for %d distinct ones", key, len(stored), len(distinct)))
		}
	}
	for id, n := range msgIDs {
		if n > 1 && id != "" {
			examples = append(examples, fmt.Sprintf("Nats-Msg-Id %s stored %d times", id, n))
		}
	}
	unanswered := 0
	for key := range byKey {
		if !r.accepted[key] {
			unanswered++
		}
	}

	elapsed := r.stopped.Sub(load.start)
	t.Logf("load: %d events in %s (%.0f/s) over keep-alive connections, %d requests; %d answered 2xx; "+
		"%d non-2xx answers, %d refused connections, %d resets on reused keep-alive connections, %d other transport errors; "+
		"%d events given up after %d attempts (%d of them had actions stored anyway); "+
		"%d actions per event: %d lost, %d duplicated",
		r.events, elapsed.Round(time.Second), float64(r.events)/elapsed.Seconds(), r.requests, len(r.accepted),
		r.non2xx, r.refused, r.resets, r.otherErrors, r.gaveUp, deliveryAttempts, unanswered, perEvent, lost, duplicated)
	if len(r.failures) > 0 {
		t.Logf("first failures:\n%s", strings.Join(r.failures, "\n"))
	}
	if len(r.accepted) < 100 {
		t.Errorf("only %d events answered 2xx: the load did not run", len(r.accepted))
	}
	if r.non2xx > 0 {
		t.Errorf("%d answers were not 2xx", r.non2xx)
	}
	if r.refused > 0 {
		t.Errorf("%d connections were refused", r.refused)
	}
	if r.gaveUp > 0 {
		t.Errorf("%d events were never answered 2xx in %d attempts", r.gaveUp, deliveryAttempts)
	}
	if lost > 0 || duplicated > 0 {
		t.Errorf("%d actions lost and %d duplicated, such as:\n%s", lost, duplicated, strings.Join(examples[:min(len(examples), 10)], "\n"))
	}
}

// ingressResources returns a copy of the resources of the ingress container of an
// ingress Deployment, with a requests map.
func ingressResources(t *testing.T, dep *appsv1.Deployment) *corev1.ResourceRequirements {
	t.Helper()
	for _, c := range dep.Spec.Template.Spec.Containers {
		if c.Name == controllers.IngressContainerName {
			r := c.Resources.DeepCopy()
			if r.Requests == nil {
				r.Requests = corev1.ResourceList{}
			}
			return r
		}
	}
	t.Fatalf("Deployment %s has no container %s", dep.Name, controllers.IngressContainerName)
	return nil
}

// loadRun sends unique events from loadWorkers workers, each every loadEvery, until
// stopped, and retries each event until it is answered 2xx, as a provider does.
type loadRun struct {
	s      *sender
	next   func(key string) delivery
	prefix string
	start  time.Time
	quit   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	mu sync.Mutex
	r  loadResult
}

// loadResult is what a load saw.
type loadResult struct {
	events, requests int
	// accepted are the idempotency keys of the events answered 2xx.
	accepted                             map[string]bool
	non2xx, refused, resets, otherErrors int
	gaveUp                               int
	failures                             []string
	stopped                              time.Time
}

func startLoad(s *sender, next func(string) delivery, prefix string) *loadRun {
	l := &loadRun{s: s, next: next, prefix: prefix, start: time.Now(), quit: make(chan struct{}), r: loadResult{accepted: map[string]bool{}}}
	for w := range loadWorkers {
		l.wg.Add(1)
		go l.worker(w)
	}
	return l
}

func (l *loadRun) worker(w int) {
	defer l.wg.Done()
	tick := time.NewTicker(loadEvery)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-l.quit:
			return
		case <-tick.C:
		}
		l.deliver(l.next(fmt.Sprintf("%s_w%d_%d", l.prefix, w, n)))
	}
}

// deliver sends one event until it is answered 2xx, at most deliveryAttempts times,
// with a growing pause between attempts. It finishes an event even after stop.
func (l *loadRun) deliver(d delivery) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l.mu.Lock()
	l.r.events++
	l.mu.Unlock()
	for attempt := 1; ; attempt++ {
		a, err := l.s.post(ctx, d)
		if l.record(d, a, err) {
			return
		}
		if attempt == deliveryAttempts {
			l.mu.Lock()
			l.r.gaveUp++
			l.mu.Unlock()
			return
		}
		time.Sleep(min(time.Duration(attempt)*250*time.Millisecond, 2*time.Second)) // the provider's backoff
	}
}

// record counts one attempt and reports whether it was answered 2xx.
func (l *loadRun) record(d delivery, a answer, err error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.r.requests++
	at := time.Since(l.start).Round(time.Millisecond)
	failure := func(what string) {
		if len(l.r.failures) < 20 {
			l.r.failures = append(l.r.failures, fmt.Sprintf("%s %s: %s", at, d.key, what))
		}
	}
	switch {
	case err == nil && a.Status/100 == 2:
		l.r.accepted[d.key] = true
		return true
	case err == nil:
		l.r.non2xx++
		failure(a.String())
	case isRefused(err):
		l.r.refused++
		failure(err.Error())
	case a.Reused && isConnReset(err):
		l.r.resets++
		failure("on a reused keep-alive connection: " + err.Error())
	default:
		l.r.otherErrors++
		failure(fmt.Sprintf("(reused connection: %t) %v", a.Reused, err))
	}
	return false
}

func (l *loadRun) accepted() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.r.accepted)
}

// waitAccepted waits until n events in all were answered 2xx.
func (l *loadRun) waitAccepted(t *testing.T, n int) {
	t.Helper()
	waitUntil(t, readyTimeout, fmt.Sprintf("%d events answered 2xx under load", n), func() (bool, string) {
		got := l.accepted()
		return got >= n, fmt.Sprintf("%d answered 2xx", got)
	})
}

// stop stops sending new events and waits for those under way, retries included.
func (l *loadRun) stop() {
	l.once.Do(func() {
		close(l.quit)
		l.wg.Wait()
		l.mu.Lock()
		l.r.stopped = time.Now()
		l.mu.Unlock()
	})
}

func (l *loadRun) result() loadResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r
}
