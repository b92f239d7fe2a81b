package ingress_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/nats-io/nats-server/v2/server"
	natsjs "github.com/nats-io/nats.go/jetstream"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
	"inlet.dev/inlet/ingress/provider"
	"inlet.dev/inlet/ingress/wire"
)

const (
	ns        = "default"
	testToken = "tok_0123456789abcdefghijklmnopqrstuvwxyz"
)

// harness runs an ingress against a real in-process NATS server with JetStream, over
// real HTTP.
type harness struct {
	t      *testing.T
	nats   *server.Server
	url    string
	client *jetstream.Client
	server *ingress.Server
	http   *httptest.Server
	in     config.Inputs
}

func newHarness(t *testing.T, in config.Inputs) *harness {
	t.Helper()
	srv, url := natstest.Start(t)
	h := &harness{t: t, nats: srv, url: url, in: in}
	h.client = h.connect()
	ctx := context.Background()
	if _, err := jetstream.EnsureStream(ctx, h.client.JetStream(), jetstream.ActionStreamConfig(v1alpha1.DefaultActionStream, time.Hour, 1, natsjs.FileStorage)); err != nil {
		t.Fatalf("action stream: %v", err)
	}
	if _, err := jetstream.EnsureStream(ctx, h.client.JetStream(), jetstream.LogStreamConfig(v1alpha1.DefaultLogStream, time.Hour, 1, natsjs.FileStorage)); err != nil {
		t.Fatalf("log stream: %v", err)
	}
	h.server = h.newServer(h.client)
	h.http = httptest.NewServer(h.server.Handler())
	t.Cleanup(h.http.Close)
	return h
}

func (h *harness) connect() *jetstream.Client {
	h.t.Helper()
	c, err := jetstream.Connect(context.Background(), h.url, jetstream.WithName("ingress-test"))
	if err != nil {
		h.t.Fatalf("connect: %v", err)
	}
	h.t.Cleanup(c.Close)
	return c
}

// newServer starts another ingress instance on the same configuration.
func (h *harness) newServer(pub ingress.Publisher) *ingress.Server {
	s := ingress.NewServer(ingress.Options{Publisher: pub, Logger: testr.New(h.t), PublishTimeout: 2 * time.Second, RetryAfter: 3 * time.Second})
	snap := config.Build(h.in)
	if len(snap.Problems) > 0 {
		h.t.Fatalf("configuration problems: %v", snap.Problems)
	}
	s.SetSnapshot(snap)
	return s
}

type answer struct {
	Status     int
	RetryAfter string
	Events     int      `json:"events"`
	EventIDs   []string `json:"eventIds"`
	Actions    int      `json:"actions"`
	Duplicates int      `json:"duplicates"`
	Failed     int      `json:"failed"`
	Idempotent bool     `json:"idempotent"`
	Error      string   `json:"error"`
}

// post sends a request to an endpoint path ("/e/default/stripe-production").
func (h *harness) post(base, path string, header http.Header, body []byte) answer {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
	maps.Copy(req.Header, header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
	if err := json.Unmarshal(data, &a); err != nil {
		h.t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, data)
	}
	a.Status = resp.StatusCode
	return a
}

// send signs body as the SourceEnvironment's Source does and posts it to its endpoint.
func (h *harness) send(sourceEnvironment string, body []byte) answer {
	h.t.Helper()
	return h.sendTo(h.http.URL, sourceEnvironment, body)
}

func (h *harness) sendTo(base, sourceEnvironment string, body []byte) answer {
	h.t.Helper()
	header, path := h.sign(sourceEnvironment, body)
	return h.post(base, path, header, body)
}

// sign returns the headers and path an authentic delivery of body uses.
func (h *harness) sign(sourceEnvironment string, body []byte) (http.Header, string) {
	h.t.Helper()
	se := find(h.in.SourceEnvironments, sourceEnvironment)
	src := find(h.in.Sources, se.Spec.SourceRef.Name)
	secret := ""
	if len(se.Spec.SigningSecretRefs) > 0 {
		secret = string(find(h.in.Secrets, se.Spec.SigningSecretRefs[0].Name).Data["secret"])
	}
	header, err := provider.Sign(&src.Spec, secret, time.Now(), body)
	if err != nil {
		h.t.Fatalf("sign: %v", err)
	}
	path := "/e/" + ns + "/" + sourceEnvironment
	if provider.UsesEndpointToken(&src.Spec) {
		path += "/" + testToken
	}
	return header, path
}

// messages returns every message stored on subjects matching filter, oldest first.
func (h *harness) messages(stream, filter string) []*natsjs.RawStreamMsg {
	h.t.Helper()
	msgs, err := h.client.LastMessages(context.Background(), stream, filter, 10000)
	if err != nil {
		h.t.Fatalf("read %s %s: %v", stream, filter, err)
	}
	return msgs
}

// actions decodes the action messages on subjects matching filter.
func (h *harness) actions(filter string) []wire.ActionMessage {
	h.t.Helper()
	var out []wire.ActionMessage
	for _, m := range h.messages(v1alpha1.DefaultActionStream, filter) {
		var a wire.ActionMessage
		if err := json.Unmarshal(m.Data, &a); err != nil {
			h.t.Fatalf("action message %s is not JSON: %v", m.Subject, err)
		}
		out = append(out, a)
	}
	return out
}

// eventLog waits for the event log record of an event id (logs are written in the
// background).
func (h *harness) eventLog(sourceEnvironment, id string) wire.EventRecord {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		msgs := h.messages(v1alpha1.DefaultLogStream, jetstream.EventLogSubject(ns, sourceEnvironment, id))
		if len(msgs) > 0 {
			var rec wire.EventRecord
			if err := json.Unmarshal(msgs[len(msgs)-1].Data, &rec); err != nil {
				h.t.Fatalf("event record: %v", err)
			}
			return rec
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no event log record for %s", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type named interface{ GetName() string }

func find[T any, P interface {
	*T
	named
}](items []T, name string) *T {
	for i := range items {
		if P(&items[i]).GetName() == name {
			return &items[i]
		}
	}
	panic("not found: " + name)
}

// fixture builds one Source, SourceEnvironment (name "<name>-test"), signing secret and
// endpoint token, with the given mappings.
func fixture(name string, spec v1alpha1.SourceSpec, secret string, mappings ...v1alpha1.EventMappingSpec) config.Inputs {
	envName := name + "-test"
	in := config.Inputs{
		Sources: []v1alpha1.Source{{ObjectMeta: meta(name), Spec: spec}},
		SourceEnvironments: []v1alpha1.SourceEnvironment{{ObjectMeta: meta(envName), Spec: v1alpha1.SourceEnvironmentSpec{
			SourceRef:   v1alpha1.LocalObjectReference{Name: name},
			Environment: "production",
		}}},
		Secrets: []corev1.Secret{{
			ObjectMeta: meta(config.EndpointTokenSecretName(envName)),
			Data:       map[string][]byte{config.EndpointTokenKey: []byte(testToken)},
		}},
	}
	if secret != "" {
		in.Secrets = append(in.Secrets, corev1.Secret{ObjectMeta: meta(name + "-secret"), Data: map[string][]byte{"secret": []byte(secret)}})
		in.SourceEnvironments[0].Spec.SigningSecretRefs = []v1alpha1.SecretKeyReference{{Name: name + "-secret", Key: "secret"}}
	}
	for i, m := range mappings {
		m.SourceEnvironmentRef = v1alpha1.LocalObjectReference{Name: envName}
		in.EventMappings = append(in.EventMappings, v1alpha1.EventMapping{ObjectMeta: meta(name + "-m" + string(rune('0'+i))), Spec: m})
	}
	return in
}

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 1}
}

func trigger(eventType, recipients string) v1alpha1.EventMappingSpec {
	return v1alpha1.EventMappingSpec{EventType: eventType, Actions: []v1alpha1.Action{{
		TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{Workflow: "w", Recipients: v1alpha1.Expression(recipients)},
	}}}
}

func merge(ins ...config.Inputs) config.Inputs {
	var out config.Inputs
	for _, in := range ins {
		out.Sources = append(out.Sources, in.Sources...)
		out.SourceEnvironments = append(out.SourceEnvironments, in.SourceEnvironments...)
		out.EventMappings = append(out.EventMappings, in.EventMappings...)
		out.Secrets = append(out.Secrets, in.Secrets...)
	}
	return out
}

func ptrQuantity(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}

func readAll(resp *http.Response) string {
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}

func httptestServer(t *testing.T, h http.Handler) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
