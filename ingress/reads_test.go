package ingress_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/api/manifests"
	"inlet.dev/inlet/api/v1alpha1"
	sampleevents "inlet.dev/inlet/config/samples/events"
	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/verify"
)

// probes are mappings whose expressions read the payload in the ways CEL can: field
// chains, indexes, optional fields, has(), the normalised event's data and payload,
// comprehensions. Each gets a SourceEnvironment of its own, so that what it reads is
// all that is decoded.
var probes = []struct{ when, recipients, data string }{
	{"", `[event.?user_id.orValue("none")]`,
		`{"a": event.?data.?id.orValue(null), "b": event.data.?object.orValue(null), "c": body.?data.?object.?customer.orValue("x")}`},
	{`has(event.event.type) || has(body.event)`, `[event.type]`,
		`{"k": event.event.?id.orValue(""), "p": body[?"properties"].orValue({}), "t": body["type"]}`},
	{"", `body.?traits.?email.hasValue() ? [body.traits.email] : ["x"]`,
		`{"u": body.?event.?user.orValue(null), "r": body.?record.?email.orValue(null),` +
			` "d": event.data.?email.orValue(event.data.?name.orValue(0))}`},
	{`event.data != null && size(event.data) >= 0`, `[string(event.?data.?customer.orValue(event.type))]`,
		`cel.bind(o, body.?data.?object.orValue({}), {"plan": o.?plan.?id.orValue(""), "n": o.?items.?data.orValue([]).size()})`},
}

// TestPrunedDecodeAgrees runs every sample payload and fixture through Process twice,
// once decoding only what the SourceEnvironment reads (the ingress's way) and once
// decoding the whole body, for config/samples' SourceEnvironments and their mappings
// and for every source type with the probes and the benchmark's mapping: the outcome,
// the events' type, key, user id and matched mappings, every action record and every
// action message's parameters, must be the same.
func TestPrunedDecodeAgrees(t *testing.T) {
	in := sampleInputs(t)
	bodies := map[v1alpha1.SourceType][]probeBody{}
	for name, tc := range sourceCases {
		for i, p := range probes {
			spec := v1alpha1.EventMappingSpec{When: v1alpha1.Expression(p.when), Actions: []v1alpha1.Action{{
				TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{Workflow: "w", Recipients: v1alpha1.Expression(p.recipients),
					Data: v1alpha1.Expression(p.data)},
			}}}
			in = merge(in, fixture(fmt.Sprintf("%s-p%d", name, i), tc.spec, tc.secret, spec))
		}
		in = merge(in, fixture(name+"-bench", tc.spec, tc.secret, benchMapping()))
		bodies[tc.spec.Type] = append(bodies[tc.spec.Type], probeBody{"sourceCases", []byte(tc.body), http.Header{
			"X-Github-Event": {"issues"}, "X-Shopify-Topic": {"orders/create"}, "Svix-Id": {"msg_1"}}})
		for _, s := range sampleevents.List(string(tc.spec.Type)) {
			data, err := sampleevents.Sample(string(tc.spec.Type), s)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			for _, line := range sampleevents.Headers(string(tc.spec.Type), s) {
				k, v, _ := strings.Cut(line, ":")
				h.Set(strings.TrimSpace(k), strings.TrimSpace(v))
			}
			if strings.HasPrefix(s, "block_actions") || strings.HasPrefix(s, "slash_command") {
				h.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			bodies[tc.spec.Type] = append(bodies[tc.spec.Type], probeBody{s, data, h})
		}
		files, _ := filepath.Glob(filepath.Join("events", "testdata", name+"_*"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			bodies[tc.spec.Type] = append(bodies[tc.spec.Type], probeBody{filepath.Base(f), data, http.Header{"Svix-Id": {"msg_2"}}})
		}
	}
	// Each mapping again for every event type the payloads have, so that they run.
	seen := map[v1alpha1.SourceType]map[string]bool{}
	for _, e := range config.Build(in).Environments() {
		for _, b := range bodies[e.SourceType] {
			o := process(e, b, false)
			for _, ev := range o.Events {
				if seen[e.SourceType] == nil {
					seen[e.SourceType] = map[string]bool{}
				}
				seen[e.SourceType][ev.Info.Type] = true
			}
		}
	}
	var more []v1alpha1.EventMapping
	for _, m := range in.EventMappings {
		for _, se := range in.SourceEnvironments {
			if se.Name != m.Spec.SourceEnvironmentRef.Name {
				continue
			}
			for _, src := range in.Sources {
				if src.Name != se.Spec.SourceRef.Name {
					continue
				}
				for typ := range seen[src.Spec.Type] {
					c := *m.DeepCopy()
					c.Name += "-" + strings.NewReplacer("/", ".", ":", ".", "$", "", " ", "-").Replace(strings.ToLower(typ))
					c.Spec.EventType = typ
					more = append(more, c)
				}
			}
		}
	}
	in.EventMappings = append(in.EventMappings, more...)
	snap := config.Build(in)
	if len(snap.Problems) > 0 {
		t.Fatalf("configuration problems: %v", snap.Problems)
	}
	pruned, compared, whole := 0, 0, 0
	for _, e := range snap.Environments() {
		if e.Reads.All() {
			whole++ // amplitude, and probe 3 (size(event.data)) where the data is the whole payload
		}
		for _, b := range bodies[e.SourceType] {
			want, got := summary(t, process(e, b, false)), summary(t, process(e, b, true))
			if got != want {
				t.Errorf("%s, %s (reads %s):\npruned %s\nwhole  %s", e.Key.Name, b.name, e.Reads, got, want)
			}
			compared++
			if strings.Contains(want, `"Messages":[{`) {
				pruned++
			}
		}
	}
	if whole > len(snap.Environments())/6 {
		t.Errorf("%d of %d SourceEnvironments decode whole bodies: the test compares too little", whole, len(snap.Environments()))
	}
	if compared < 300 || pruned < 100 {
		t.Errorf("%d payloads compared, %d with actions: the test runs too little", compared, pruned)
	}
	stripe := snap.Lookup(types.NamespacedName{Namespace: ns, Name: "stripe-bench-test"})
	if got, want := stripe.Reads.String(), "body.data.object.cancel_at_period_end, body.data.object.customer, "+
		"body.data.object.id, body.data.object.object, body.data.object.plan.id, body.data.object.quantity, body.id, body.type"; got != want {
		t.Errorf("the benchmark's SourceEnvironment reads %s, want %s", got, want)
	}
}

type probeBody struct {
	name string
	data []byte
	h    http.Header
}

// process runs a body through the data path without verification, decoding it whole
// or only what the SourceEnvironment reads.
func process(e *config.Environment, b probeBody, pruned bool) *ingress.Outcome {
	env := *e
	env.Verifier = verify.None()
	if !pruned {
		env.Reads = nil
	}
	h := b.h.Clone()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	return ingress.Process(context.Background(), &env, ingress.Request{Header: h, Body: b.data, Received: time.Unix(1700000000, 0)})
}

// summary is what a user sees of an outcome, as JSON: the rejection, each event's type,
// key, user id and matched mappings, its action records, and each message's subject
// and content but for the ids drawn at random.
func summary(t *testing.T, o *ingress.Outcome) string {
	t.Helper()
	type event struct {
		Type, Key, User string
		Dropped         bool
		Preprocess      any
		Matched         []string
		Actions         []any
		Messages        []any
	}
	var out struct {
		Rejection *ingress.Rejection
		Events    []event
	}
	out.Rejection = o.Rejection
	for _, ev := range o.Events {
		s := event{Type: ev.Info.Type, Key: ev.Info.IdempotencyKey, User: ev.Info.UserID, Dropped: ev.Info.KeyDropped,
			Preprocess: ev.Info.Preprocess, Matched: ev.Matched}
		for _, a := range ev.Actions {
			a.EventID = ""
			s.Actions = append(s.Actions, a)
		}
		for _, m := range ev.Messages {
			var msg map[string]any
			if err := json.Unmarshal(m.Data, &msg); err != nil {
				t.Fatal(err)
			}
			delete(msg, "id")
			delete(msg["event"].(map[string]any), "id")
			if ev.DedupID == "" {
				m.MsgID = ""
			}
			s.Messages = append(s.Messages, map[string]any{"subject": m.Subject, "msgID": m.MsgID, "data": msg})
		}
		out.Events = append(out.Events, s)
	}
	data, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// sampleInputs loads config/samples, with the endpoint token Secret the operator
// would generate for Segment.
func sampleInputs(t *testing.T) config.Inputs {
	t.Helper()
	objs, err := manifests.LoadPaths(filepath.Join("..", "config", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	var in config.Inputs
	for _, o := range objs {
		o.SetNamespace(ns)
		if _, err := in.Add(o.Unstructured); err != nil {
			t.Fatalf("%s: %v", o.Origin(), err)
		}
	}
	in.Secrets = append(in.Secrets, corev1.Secret{
		ObjectMeta: meta(config.EndpointTokenSecretName("segment-production")),
		Data:       map[string][]byte{config.EndpointTokenKey: []byte(testToken)},
	})
	return in
}
