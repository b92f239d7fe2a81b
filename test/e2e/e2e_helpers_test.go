//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"inlet.dev/inlet/api/v1alpha1"
	sampleevents "inlet.dev/inlet/config/samples/events"
	"inlet.dev/inlet/controllers"
	"inlet.dev/inlet/ingress/config"
	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/provider"
	"inlet.dev/inlet/ingress/sign"
	"inlet.dev/inlet/ingress/wire"
)

// Waits, generous for a 2-core machine that may be building something else.
const (
	// readyTimeout bounds a pod, Deployment or resource becoming Ready.
	readyTimeout = 3 * time.Minute
	// statusTimeout bounds status counters catching up: the operator refreshes them on
	// its resync.
	statusTimeout = 2 * time.Minute
	// deleteTimeout bounds everything the operator made going away after a delete.
	deleteTimeout = 4 * time.Minute
	// pollEvery is how often a wait checks again.
	pollEvery = 250 * time.Millisecond
)

// Where `make deploy` puts the operator.
const (
	operatorNamespace  = "inlet-system"
	operatorDeployment = "inlet-operator"
	// operatorLease is the operator's leader election Lease (cmd/inlet/operator.go).
	operatorLease = "inlet-operator.inlet.dev"
)

// sampleEnvironments are the SourceEnvironments `kubectl apply -f config/samples/`
// creates in cl.Namespace.
var sampleEnvironments = []string{"stripe-production", "clerk-production", "segment-production", "github-development"}

// dumpOnFailure makes a failed test print the cluster's state (pods, events, logs).
func dumpOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if t.Failed() {
			cl.Dump(t)
		}
	})
}

// waitUntil calls check every pollEvery until it reports done, and returns how long
// that took. After timeout the test fails with what, and with the last detail check
// gave, which should say what is still missing.
func waitUntil(t *testing.T, timeout time.Duration, what string, check func() (done bool, detail string)) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		done, detail := check()
		if done {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %s; last seen: %s", what, timeout, detail)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("%s: %v; last seen: %s", what, t.Context().Err(), detail)
		case <-time.After(pollEvery):
		}
	}
}

// updateWithRetry reads obj again, applies mutate and updates it, retrying on a
// conflict with someone else's write (the operator writes status).
func updateWithRetry[T client.Object](ctx context.Context, kc client.Client, obj T, mutate func(T)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := kc.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mutate(obj)
		return kc.Update(ctx, obj)
	})
}

// clientset is a client-go clientset for what the controller-runtime client does not
// do: pod logs and server-side tables.
func clientset(t *testing.T) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cl.Config)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// runID makes the idempotency keys of this run unique, so that a NATS server that kept
// an earlier run's duplicate window does not answer "idempotent" to a first delivery.
var runID = strconv.FormatInt(time.Now().UnixNano(), 36)

var keySeq atomic.Int64

// uniqueKey returns an idempotency key used nowhere else: evt_e2e_<what>_<run>_<n>.
func uniqueKey(what string) string {
	return fmt.Sprintf("evt_e2e_%s_%s_%d", what, runID, keySeq.Add(1))
}

// ---- Deployments, pods and resources ----

// ingressObjectName is the name of a sample SourceEnvironment's ingress Deployment,
// Service, ServiceAccount, Role, RoleBinding and PodDisruptionBudget (the operator's
// ingressName, for names that are DNS labels as they stand).
func ingressObjectName(sourceEnvironment string) string { return sourceEnvironment + "-ingress" }

// wantedReplicas is a Deployment's spec.replicas, 1 when unset as the API server
// defaults it.
func wantedReplicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n += s.RestartCount
	}
	return n
}

// describePods says, for a failure message, what each pod is doing.
func describePods(pods []corev1.Pod) string {
	if len(pods) == 0 {
		return "no pods"
	}
	var parts []string
	for i := range pods {
		p := &pods[i]
		state := string(p.Status.Phase)
		if podReady(p) {
			state += ", Ready"
		} else {
			state += ", not Ready"
		}
		if p.DeletionTimestamp != nil {
			state += ", terminating"
		}
		for _, s := range p.Status.ContainerStatuses {
			if w := s.State.Waiting; w != nil {
				state += ", " + s.Name + " waiting: " + w.Reason
			}
		}
		parts = append(parts, fmt.Sprintf("%s (%s, %d restarts)", p.Name, state, restarts(p)))
	}
	return strings.Join(parts, "; ")
}

// deploymentPods lists the pods a Deployment selects, terminating ones included.
func deploymentPods(ctx context.Context, kc client.Client, d *appsv1.Deployment) ([]corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, err
	}
	var pods corev1.PodList
	if err := kc.List(ctx, &pods, client.InNamespace(d.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, err
	}
	return pods.Items, nil
}

// waitRolledOut waits until a Deployment runs its current template on every replica it
// wants, every one of its pods Ready and none left over or terminating, and returns it
// with its pods.
func waitRolledOut(t *testing.T, kc client.Client, key types.NamespacedName) (*appsv1.Deployment, []corev1.Pod) {
	t.Helper()
	ctx := t.Context()
	dep := &appsv1.Deployment{}
	var pods []corev1.Pod
	waitUntil(t, readyTimeout, fmt.Sprintf("Deployment %s rolled out with every pod Ready", key), func() (bool, string) {
		if err := kc.Get(ctx, key, dep); err != nil {
			return false, err.Error()
		}
		want, st := wantedReplicas(dep), dep.Status
		if st.ObservedGeneration < dep.Generation {
			return false, fmt.Sprintf("the Deployment controller has not seen generation %d yet", dep.Generation)
		}
		var err error
		if pods, err = deploymentPods(ctx, kc, dep); err != nil {
			return false, err.Error()
		}
		counts := fmt.Sprintf("%d wanted, %d updated, %d ready, %d available, %d in all; pods: %s",
			want, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas, st.Replicas, describePods(pods))
		if st.UpdatedReplicas != want || st.ReadyReplicas != want || st.AvailableReplicas != want || st.Replicas != want || len(pods) != int(want) {
			return false, counts
		}
		for i := range pods {
			if !podReady(&pods[i]) || pods[i].DeletionTimestamp != nil {
				return false, counts
			}
		}
		return true, ""
	})
	return dep, pods
}

// waitIngressReady waits until a SourceEnvironment's ingress Deployment exists and runs
// every replica it wants, all Ready.
func waitIngressReady(t *testing.T, kc client.Client, sourceEnvironment string) (*appsv1.Deployment, []corev1.Pod) {
	t.Helper()
	return waitRolledOut(t, kc, types.NamespacedName{Namespace: cl.Namespace, Name: ingressObjectName(sourceEnvironment)})
}

// waitReadyCondition waits until obj, read again and again, has Ready=True for its
// current generation in conditions.
func waitReadyCondition(t *testing.T, kc client.Client, kind string, obj client.Object, conditions func() []metav1.Condition) {
	t.Helper()
	key := client.ObjectKeyFromObject(obj)
	waitUntil(t, readyTimeout, fmt.Sprintf("%s %s Ready", kind, key), func() (bool, string) {
		if err := kc.Get(t.Context(), key, obj); err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(conditions(), v1alpha1.ConditionReady)
		switch {
		case c == nil:
			return false, "no Ready condition yet"
		case c.ObservedGeneration != obj.GetGeneration():
			return false, fmt.Sprintf("Ready=%s describes generation %d, the spec is at %d", c.Status, c.ObservedGeneration, obj.GetGeneration())
		case c.Status != metav1.ConditionTrue:
			return false, fmt.Sprintf("Ready=%s, reason %s: %s", c.Status, c.Reason, c.Message)
		}
		return true, ""
	})
}

// waitSourceEnvironmentReady waits until a SourceEnvironment is Ready for its current
// generation and returns it.
func waitSourceEnvironmentReady(t *testing.T, kc client.Client, name string) *v1alpha1.SourceEnvironment {
	t.Helper()
	se := &v1alpha1.SourceEnvironment{ObjectMeta: metav1.ObjectMeta{Namespace: cl.Namespace, Name: name}}
	waitReadyCondition(t, kc, "SourceEnvironment", se, func() []metav1.Condition { return se.Status.Conditions })
	return se
}

// waitEventMappingReady waits until an EventMapping is Ready for its current generation.
func waitEventMappingReady(t *testing.T, kc client.Client, name string) {
	t.Helper()
	m := &v1alpha1.EventMapping{ObjectMeta: metav1.ObjectMeta{Namespace: cl.Namespace, Name: name}}
	waitReadyCondition(t, kc, "EventMapping", m, func() []metav1.Condition { return m.Status.Conditions })
}

// mappingsOf lists the EventMappings of a SourceEnvironment.
func mappingsOf(t *testing.T, kc client.Client, sourceEnvironment string) []v1alpha1.EventMapping {
	t.Helper()
	var list v1alpha1.EventMappingList
	if err := kc.List(t.Context(), &list, client.InNamespace(cl.Namespace)); err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(list.Items, func(m v1alpha1.EventMapping) bool {
		return m.Spec.SourceEnvironmentRef.Name != sourceEnvironment
	})
}

// printedColumns returns the columns `kubectl get <resource>` prints for each object of
// an inlet resource in cl.Namespace, by object name and column name: the API server's
// table, built from the CRD's printer columns, which is what kubectl shows.
func printedColumns(t *testing.T, cs *kubernetes.Clientset, resource string) map[string]map[string]string {
	t.Helper()
	raw, err := cs.Discovery().RESTClient().Get().
		AbsPath("/apis", v1alpha1.GroupVersion.Group, v1alpha1.GroupVersion.Version, "namespaces", cl.Namespace, resource).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").
		DoRaw(t.Context())
	if err != nil {
		t.Fatalf("get %s as a table: %v", resource, err)
	}
	var table metav1.Table
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatalf("%s table: %v", resource, err)
	}
	out := map[string]map[string]string{}
	for _, row := range table.Rows {
		cols := map[string]string{}
		for i, def := range table.ColumnDefinitions {
			if i >= len(row.Cells) {
				break
			}
			switch v := row.Cells[i].(type) {
			case nil:
				cols[def.Name] = ""
			case float64:
				cols[def.Name] = strconv.FormatFloat(v, 'f', -1, 64)
			default:
				cols[def.Name] = fmt.Sprint(v)
			}
		}
		out[cols["Name"]] = cols
	}
	return out
}

// ---- Sending events ----

// sender posts events to one SourceEnvironment through its Service's ClusterIP, signed
// as its provider signs them (package sign, as `inlet send` does).
type sender struct {
	se     *v1alpha1.SourceEnvironment
	source *v1alpha1.Source
	// secret is the signing secret events are signed with.
	secret string
	// url is http://<ClusterIP>:<port>/e/<namespace>/<name>[/<endpoint token>].
	url    string
	client *http.Client
}

// newSender reads a SourceEnvironment, its Source, its first signing secret, its
// Service and, for a source that signs nothing, its endpoint token, waiting for what
// the operator has not created yet.
func newSender(t *testing.T, kc client.Client, name string, httpClient *http.Client) *sender {
	t.Helper()
	ctx := t.Context()
	s := &sender{se: &v1alpha1.SourceEnvironment{}, source: &v1alpha1.Source{}, client: httpClient}
	key := types.NamespacedName{Namespace: cl.Namespace, Name: name}
	if err := kc.Get(ctx, key, s.se); err != nil {
		t.Fatalf("get SourceEnvironment %s: %v", key, err)
	}
	if err := kc.Get(ctx, types.NamespacedName{Namespace: cl.Namespace, Name: s.se.Spec.SourceRef.Name}, s.source); err != nil {
		t.Fatalf("get Source of %s: %v", key, err)
	}
	if refs := s.se.Spec.SigningSecretRefs; len(refs) > 0 {
		s.secret = secretValue(t, kc, refs[0].Name, secretRefKey(refs[0]))
	}

	svc := &corev1.Service{}
	svcKey := types.NamespacedName{Namespace: cl.Namespace, Name: ingressObjectName(name)}
	var port int32
	waitUntil(t, readyTimeout, "Service "+svcKey.String()+" with a ClusterIP and an http port", func() (bool, string) {
		if err := kc.Get(ctx, svcKey, svc); err != nil {
			return false, err.Error()
		}
		for _, p := range svc.Spec.Ports {
			if p.Name == controllers.IngressPortName {
				port = p.Port
			}
		}
		return svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone && port != 0, fmt.Sprintf("clusterIP %q, ports %v", svc.Spec.ClusterIP, svc.Spec.Ports)
	})
	s.url = "http://" + net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(port))) + "/e/" + cl.Namespace + "/" + name
	if provider.UsesEndpointToken(&s.source.Spec) {
		tokenSecret := config.EndpointTokenSecretName(name)
		var token string
		waitUntil(t, readyTimeout, "the operator to generate the endpoint token Secret "+tokenSecret, func() (bool, string) {
			sec := &corev1.Secret{}
			if err := kc.Get(ctx, types.NamespacedName{Namespace: cl.Namespace, Name: tokenSecret}, sec); err != nil {
				return false, err.Error()
			}
			token, _ = config.SecretKeyValue(sec, config.EndpointTokenKey)
			return token != "", "no key " + config.EndpointTokenKey
		})
		s.url += "/" + token
	}
	return s
}

// secretRefKey is a signing secret reference's key: "secret" when unset, as the
// schema defaults it.
func secretRefKey(ref v1alpha1.SecretKeyReference) string {
	if ref.Key == "" {
		return "secret"
	}
	return ref.Key
}

// secretValue reads one key of a Secret in cl.Namespace.
func secretValue(t *testing.T, kc client.Client, name, key string) string {
	t.Helper()
	sec := &corev1.Secret{}
	if err := kc.Get(t.Context(), types.NamespacedName{Namespace: cl.Namespace, Name: name}, sec); err != nil {
		t.Fatalf("get Secret %s: %v", name, err)
	}
	v, ok := config.SecretKeyValue(sec, key)
	if !ok {
		t.Fatalf("Secret %s has no key %q", name, key)
	}
	return v
}

// signedWith returns a copy of s that signs with secret.
func (s *sender) signedWith(secret string) *sender {
	c := *s
	c.secret = secret
	return &c
}

// delivery is one event as a sender posts it.
type delivery struct {
	body []byte
	// headers are extra "Name: value" headers, such as X-GitHub-Event.
	headers []string
	// key is the idempotency key the ingress finds in it.
	key string
}

// samples returns a function that makes the sample event of eventType for the
// source's type (config/samples/events) unique with an idempotency key, placed where
// the source's events carry theirs.
func (s *sender) samples(t *testing.T, eventType string) func(key string) delivery {
	t.Helper()
	typ := s.source.Spec.Type
	raw, err := sampleevents.Sample(string(typ), eventType)
	if err != nil {
		t.Fatal(err)
	}
	headers := sampleevents.Headers(string(typ), eventType)
	var template map[string]any
	if err := json.Unmarshal(raw, &template); err != nil {
		t.Fatalf("sample %s/%s: %v", typ, eventType, err)
	}
	switch typ {
	case v1alpha1.SourceTypeStripe, v1alpha1.SourceTypeClerk, v1alpha1.SourceTypeSegment, v1alpha1.SourceTypeHTTP:
	default:
		t.Fatalf("the e2e does not know where %s events carry their idempotency key", typ)
	}
	return func(key string) delivery {
		payload := make(map[string]any, len(template)+1)
		maps.Copy(payload, template)
		d := delivery{headers: slices.Clone(headers), key: key}
		switch typ {
		case v1alpha1.SourceTypeStripe:
			payload["id"] = key
		case v1alpha1.SourceTypeSegment:
			payload["messageId"] = key
		case v1alpha1.SourceTypeClerk:
			// Clerk's key is the svix-id header, which sign derives from the body.
			payload["e2e_key"] = key
		case v1alpha1.SourceTypeHTTP:
			// The github sample's key is its X-GitHub-Delivery header.
			payload["e2e_key"] = key
			d.headers = slices.DeleteFunc(d.headers, func(h string) bool {
				return strings.HasPrefix(strings.ToLower(h), "x-github-delivery:")
			})
			d.headers = append(d.headers, "X-GitHub-Delivery: "+key)
		}
		d.body, _ = json.Marshal(payload) // a map decoded from JSON always encodes
		if typ == v1alpha1.SourceTypeClerk {
			d.key = sign.MessageID(d.body)
		}
		return d
	}
}

// answer is the ingress's answer to one delivery.
type answer struct {
	Status int    `json:"-"`
	Body   string `json:"-"`
	// Reused says the request went over a reused keep-alive connection.
	Reused bool `json:"-"`

	// The ingress's JSON answer.
	Events     int      `json:"events"`
	EventIDs   []string `json:"eventIds"`
	Actions    int      `json:"actions"`
	Duplicates int      `json:"duplicates"`
	Failed     int      `json:"failed"`
	Idempotent bool     `json:"idempotent"`
	Error      string   `json:"error"`
}

func (a answer) String() string { return fmt.Sprintf("%d %s", a.Status, a.Body) }

// post signs d now, as its provider would, and posts it.
func (s *sender) post(ctx context.Context, d delivery) (answer, error) {
	header, err := provider.Sign(&s.source.Spec, s.secret, time.Now(), d.body)
	if err != nil {
		return answer{}, err
	}
	return s.do(ctx, d.body, header, d.headers)
}

// postTampered signs d and posts it with a changed body, as an attacker who altered an
// event in flight would.
func (s *sender) postTampered(ctx context.Context, d delivery) (answer, error) {
	header, err := provider.Sign(&s.source.Spec, s.secret, time.Now(), d.body)
	if err != nil {
		return answer{}, err
	}
	tampered := bytes.Replace(d.body, []byte("{"), []byte(`{"e2e_tampered":true,`), 1)
	return s.do(ctx, tampered, header, d.headers)
}

func (s *sender) do(ctx context.Context, body []byte, header http.Header, extra []string) (answer, error) {
	for _, h := range extra {
		name, value, _ := strings.Cut(h, ":")
		header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	var a answer
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { a.Reused = i.Reused }})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return a, err
	}
	req.Header = header
	resp, err := s.client.Do(req)
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	a.Status, a.Body = resp.StatusCode, strings.TrimSpace(string(data))
	if err != nil {
		return a, fmt.Errorf("read the answer to a %d: %w", a.Status, err)
	}
	_ = json.Unmarshal(data, &a) // a non-JSON answer keeps only Status and Body
	return a, nil
}

// postOnceReachable posts d, retrying only while the Service cannot be reached at all
// (kube-proxy may not have programmed a Service that just got its first ready pod):
// any HTTP answer is returned as it is.
func (s *sender) postOnceReachable(t *testing.T, d delivery) answer {
	t.Helper()
	var a answer
	waitUntil(t, time.Minute, "the ingress Service "+s.url+" to answer", func() (bool, string) {
		var err error
		if a, err = s.post(t.Context(), d); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	return a
}

// keepAliveClient reuses connections, as providers' webhook senders do; conns is how
// many it keeps per host.
func keepAliveClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // ClusterIPs are reached directly, whatever HTTP_PROXY says
	tr.MaxIdleConnsPerHost = conns
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// freshConnClient opens a new connection for every request, so that kube-proxy picks
// an ingress pod at random each time: what one pod has not picked up yet shows.
func freshConnClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DisableKeepAlives = true
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// isConnReset says err is the connection closing under a request: a reset, an EOF, or
// net/http's "server closed idle connection".
func isConnReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "server closed idle connection")
}

// ---- JetStream ----

// storedAction is one action message the ingress stored in the action stream.
type storedAction struct {
	Seq     uint64
	Subject string
	// MsgID is the Nats-Msg-Id header the stream de-duplicates on.
	MsgID  string
	Action wire.ActionMessage
}

// actionStream reads the action stream as the notification engine would.
type actionStream struct {
	js   jetstream.JetStream
	name string
}

// openActionStream connects to cl.NATSURL, from this machine, and reads stream.
func openActionStream(t *testing.T, stream string) *actionStream {
	t.Helper()
	c, err := inletjs.Connect(t.Context(), cl.NATSURL)
	if err != nil {
		t.Fatalf("connect to NATS at %s: %v", cl.NATSURL, err)
	}
	t.Cleanup(c.Close)
	return &actionStream{js: c.JetStream(), name: stream}
}

// lastSeq is the sequence of the newest message in the stream.
func (a *actionStream) lastSeq(t *testing.T) uint64 {
	t.Helper()
	s, err := a.js.Stream(t.Context(), a.name)
	if err != nil {
		t.Fatalf("stream %s: %v", a.name, err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatalf("stream %s: %v", a.name, err)
	}
	return info.State.LastSeq
}

// since returns every action stored after sequence from, oldest first.
func (a *actionStream) since(t *testing.T, from uint64) []storedAction {
	t.Helper()
	ctx := t.Context()
	last := a.lastSeq(t)
	if last <= from {
		return nil
	}
	s, err := a.js.Stream(ctx, a.name)
	if err != nil {
		t.Fatalf("stream %s: %v", a.name, err)
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   from + 1,
	})
	if err != nil {
		t.Fatalf("read stream %s from %d: %v", a.name, from+1, err)
	}
	msgs, err := cons.Messages()
	if err != nil {
		t.Fatalf("read stream %s from %d: %v", a.name, from+1, err)
	}
	defer msgs.Stop()
	var out []storedAction
	for {
		m, err := msgs.Next(jetstream.NextMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("stream %s: %d messages read after sequence %d, then: %v (its last is %d)", a.name, len(out), from, err, last)
		}
		md, err := m.Metadata()
		if err != nil {
			t.Fatalf("message of stream %s: %v", a.name, err)
		}
		sa := storedAction{Seq: md.Sequence.Stream, Subject: m.Subject(), MsgID: m.Headers().Get(jetstream.MsgIDHeader)}
		if err := json.Unmarshal(m.Data(), &sa.Action); err != nil {
			t.Fatalf("message %d on %s is not an action: %v\n%s", sa.Seq, sa.Subject, err, m.Data())
		}
		out = append(out, sa)
		if sa.Seq >= last {
			break
		}
	}
	return out
}

// actionsOf keeps the actions of one event (by idempotency key) of a SourceEnvironment.
func actionsOf(all []storedAction, sourceEnvironment, key string) []storedAction {
	var out []storedAction
	for _, a := range all {
		if a.Action.Source.SourceEnvironment == sourceEnvironment && a.Action.Event.IdempotencyKey == key {
			out = append(out, a)
		}
	}
	return out
}

// waitNotFound waits until obj no longer exists (it may be held by a finalizer or a
// termination grace period).
func waitNotFound(t *testing.T, kc client.Client, obj client.Object, timeout time.Duration) {
	t.Helper()
	key := client.ObjectKeyFromObject(obj)
	uid := obj.GetUID()
	waitUntil(t, timeout, fmt.Sprintf("%T %s gone", obj, key), func() (bool, string) {
		err := kc.Get(t.Context(), key, obj)
		switch {
		case apierrors.IsNotFound(err):
			return true, ""
		case err != nil:
			return false, err.Error()
		case uid != "" && obj.GetUID() != uid:
			return true, "" // gone, and another one of the same name made since
		}
		return false, fmt.Sprintf("still there (deletion requested at %v)", obj.GetDeletionTimestamp())
	})
}
