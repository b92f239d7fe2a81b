package ingress_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/wire"
)

const replaySE = "stripe-test"

func subscriptionEvent(id string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"object":"event","type":"customer.subscription.created","data":{"object":{"id":"sub_%s","customer":"cus_%s"}}}`, id, id, id)
}

func invoiceEvent(id string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"object":"event","type":"invoice.paid","data":{"object":{"id":"in_%s","customer":"cus_%s"}}}`, id, id, id)
}

func mapping(name string, spec v1alpha1.EventMappingSpec) v1alpha1.EventMapping {
	spec.SourceEnvironmentRef = v1alpha1.LocalObjectReference{Name: replaySE}
	return v1alpha1.EventMapping{ObjectMeta: meta(name), Spec: spec}
}

// replayer returns a Replayer of the SourceEnvironment as the inputs configure it now.
func (h *harness) replayer(in config.Inputs, dryRun bool) *ingress.Replayer {
	h.t.Helper()
	snap := config.Build(in)
	if len(snap.Problems) > 0 {
		h.t.Fatalf("configuration problems: %v", snap.Problems)
	}
	return &ingress.Replayer{Env: snap.Lookup(types.NamespacedName{Namespace: ns, Name: replaySE}), Client: h.client, DryRun: dryRun}
}

// actionsByMapping counts the stored actions by mapping and customer.
func (h *harness) storedActions() map[string]int {
	h.t.Helper()
	out := map[string]int{}
	for _, a := range h.actions(jetstream.ActionStreamSubject) {
		out[fmt.Sprintf("%s %v", a.Mapping, a.Params["recipients"])]++
	}
	return out
}

func (h *harness) logCount() int {
	h.t.Helper()
	return len(h.messages(v1alpha1.DefaultLogStream, jetstream.LogStreamSubject))
}

func replay(t *testing.T, r *ingress.Replayer, sel ingress.ReplaySelection) (ingress.ReplaySummary, []*ingress.ReplayedEvent) {
	t.Helper()
	var events []*ingress.ReplayedEvent
	r.Event = func(e *ingress.ReplayedEvent) { events = append(events, e) }
	sum, err := r.Run(context.Background(), sel)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	return sum, events
}

// The story of a user who fixed a broken mapping and added a missing one: a dry run
// shows what each event would now publish and publishes nothing; the replay publishes
// exactly the missing actions, once; a second replay adds nothing.
func TestReplayAfterFixingAMappingPublishesExactlyTheMissingActionsOnce(t *testing.T) {
	stripe := sourceCases["stripe"]
	welcome := mapping("welcome", trigger("customer.subscription.created", "[body.data.object.customer]"))
	broken := mapping("crm", trigger("customer.subscription.created", "[body.data.object.no_such_field]"))
	in := fixture("stripe", stripe.spec, stripe.secret)
	in.EventMappings = []v1alpha1.EventMapping{welcome, broken}
	h := newHarness(t, in)

	// Two subscriptions (the first delivered twice) and an invoice no mapping handles.
	var ids []string
	for _, body := range [][]byte{subscriptionEvent("evt_a"), subscriptionEvent("evt_a"), subscriptionEvent("evt_b"), invoiceEvent("evt_c")} {
		a := h.send(replaySE, body)
		if a.Status != http.StatusOK {
			t.Fatalf("send: %+v", a)
		}
		ids = append(ids, a.EventIDs[0])
	}
	for _, id := range ids {
		h.eventLog(replaySE, id)
	}
	before := h.storedActions()
	if want := map[string]int{"welcome [cus_evt_a]": 1, "welcome [cus_evt_b]": 1}; !maps.Equal(before, want) {
		t.Fatalf("stored before the fix = %v, want %v", before, want)
	}

	// The fix: the crm mapping reads the right field, and invoices get a mapping.
	fixed := in
	fixed.EventMappings = []v1alpha1.EventMapping{
		welcome,
		mapping("crm", trigger("customer.subscription.created", "[body.data.object.customer]")),
		mapping("receipt", trigger("invoice.paid", "[body.data.object.customer]")),
	}

	checkDryRun(t, h, fixed, before)

	sum, events := replay(t, h.replayer(fixed, false), ingress.ReplaySelection{})
	want := map[string]int{"welcome [cus_evt_a]": 1, "welcome [cus_evt_b]": 1,
		"crm [cus_evt_a]": 1, "crm [cus_evt_b]": 1, "receipt [cus_evt_c]": 1}
	if got := h.storedActions(); !maps.Equal(got, want) {
		t.Fatalf("stored after the replay = %v, want %v", got, want)
	}
	if sum.Published != 3 || sum.Duplicate != 0 || sum.Failed != 0 || sum.Replayed != 4 {
		t.Errorf("summary = %+v", sum)
	}
	// Every replay that publishes is logged: a record of its own, marked with the event
	// it replayed. The second delivery of evt_a had nothing new: no record.
	logged := 0
	for _, e := range events {
		if e.ID == "" {
			if e.Original.ID != ids[1] {
				t.Errorf("the replay of %s (%s) was not logged", e.Original.ID, e.Original.IdempotencyKey)
			}
			continue
		}
		logged++
		rec := h.eventLog(replaySE, e.ID)
		if rec.ReplayOf != e.Original.ID || !rec.Verified || len(rec.Payload) == 0 {
			t.Errorf("replay record of %s: replayOf %q, verified %v, payload %d bytes", e.Original.ID, rec.ReplayOf, rec.Verified, len(rec.Payload))
		}
	}
	// The replayed actions say where they came from.
	for _, a := range h.actions(jetstream.ActionStreamSubject) {
		if a.Mapping == "crm" && a.Event.ReceivedAt.IsZero() {
			t.Errorf("replayed action %+v has no receivedAt", a)
		}
	}

	// Again, with the log's replay records now in the range: nothing new.
	sum, _ = replay(t, h.replayer(fixed, false), ingress.ReplaySelection{})
	if got := h.storedActions(); !maps.Equal(got, want) {
		t.Fatalf("stored after a second replay = %v, want %v", got, want)
	}
	if sum.Published != 0 || sum.Replayed != 4 || sum.Skipped[ingress.SkipIsReplay] != 3 || logged != 3 {
		t.Errorf("second replay summary = %+v, want nothing published and the 3 replay records skipped", sum)
	}
}

// checkDryRun runs a dry run of every event with the fixed configuration: it shows the
// missing actions, stores nothing and writes nothing.
func checkDryRun(t *testing.T, h *harness, fixed config.Inputs, before map[string]int) {
	t.Helper()
	logsBefore := h.logCount()
	sum, events := replay(t, h.replayer(fixed, true), ingress.ReplaySelection{})
	if got := h.storedActions(); !maps.Equal(got, before) {
		t.Fatalf("a dry run stored actions: %v", got)
	}
	if n := h.logCount(); n != logsBefore {
		t.Fatalf("a dry run wrote %d log records", n-logsBefore)
	}
	if sum.Considered != 4 || sum.Replayed != 4 || sum.Published != 3 || sum.AlreadyStored != 4 || sum.Failed != 0 {
		t.Errorf("dry run summary = %+v, want 4 events, 3 new actions (crm a, crm b, receipt c), 4 already stored", sum)
	}
	var planned []string
	for _, e := range events {
		for _, a := range e.Actions {
			if !a.AlreadyStored {
				planned = append(planned, e.Original.IdempotencyKey+" "+a.Mapping)
			}
		}
	}
	if want := []string{"evt_a crm", "evt_b crm", "evt_c receipt"}; !slices.Equal(planned, want) {
		t.Errorf("the dry run would publish %q, want %q (the second delivery of evt_a adds nothing)", planned, want)
	}
}

// A replay remembers what it stored beyond the duplicate window: the event's replay
// ledger, not only the stream's ids, keeps a later replay from storing it again.
func TestReplayAfterTheDuplicateWindowStoresNothingTwice(t *testing.T) {
	stripe := sourceCases["stripe"]
	in := fixture("stripe", stripe.spec, stripe.secret)
	h := newHarness(t, in)
	a := h.send(replaySE, subscriptionEvent("evt_w"))
	h.eventLog(replaySE, a.EventIDs[0])
	fixed := in
	fixed.EventMappings = []v1alpha1.EventMapping{mapping("welcome", trigger("customer.subscription.created", "[body.data.object.customer]"))}
	if sum, _ := replay(t, h.replayer(fixed, false), ingress.ReplaySelection{IDs: a.EventIDs}); sum.Published != 1 {
		t.Fatalf("first replay = %+v", sum)
	}
	// The window passes: purge the action stream (its ids go with it).
	s, err := h.client.JetStream().Stream(context.Background(), v1alpha1.DefaultActionStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(context.Background()); err != nil {
		t.Fatal(err)
	}
	sum, _ := replay(t, h.replayer(fixed, false), ingress.ReplaySelection{IDs: a.EventIDs})
	if sum.Published != 0 || sum.AlreadyStored != 1 || len(h.storedActions()) != 0 {
		t.Errorf("replay after the window = %+v, stored %v: want the action known as stored", sum, h.storedActions())
	}
}

// Replays that run at the same time store each new action once: on an R1 file stream
// (actions with ids of their own), on a memory stream (events as atomic batches), and
// on a partitioned stream, where each replayed action goes to its event's partition.
func TestConcurrentReplaysStoreOnce(t *testing.T) {
	cases := map[string]struct {
		storage    natsjs.StorageType
		partitions int
	}{
		"file":        {natsjs.FileStorage, 1},
		"memory":      {natsjs.MemoryStorage, 1},
		"partitioned": {natsjs.FileStorage, 3},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			stripe := sourceCases["stripe"]
			welcome := mapping("welcome", trigger("customer.subscription.created", "[body.data.object.customer]"))
			in := fixture("stripe", stripe.spec, stripe.secret)
			in.EventMappings = []v1alpha1.EventMapping{welcome}
			if tc.partitions > 1 {
				p := int32(tc.partitions)
				in.SourceEnvironments[0].Spec.Publish.Partitions = &p
			}
			h := newHarness(t, in)
			useActionStreams(t, h, tc.storage, tc.partitions)
			const events = 20
			for i := range events {
				a := h.send(replaySE, subscriptionEvent(fmt.Sprintf("evt_%02d", i)))
				h.eventLog(replaySE, a.EventIDs[0])
			}
			fixed := in
			fixed.EventMappings = []v1alpha1.EventMapping{welcome,
				mapping("crm", v1alpha1.EventMappingSpec{EventType: "customer.subscription.created", Actions: []v1alpha1.Action{
					{IdentifyUser: &v1alpha1.IdentifyUserAction{ID: "body.data.object.customer"}},
					{TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{Workflow: "crm", Recipients: "[body.data.object.customer]"}},
				}})}

			const replays = 4
			sums := make([]ingress.ReplaySummary, replays)
			var wg sync.WaitGroup
			for i := range replays {
				wg.Go(func() {
					r := h.replayer(fixed, false)
					sum, err := r.Run(context.Background(), ingress.ReplaySelection{Types: []string{"customer.subscription.created"}})
					if err != nil {
						t.Errorf("replay %d: %v", i, err)
					}
					sums[i] = sum
				})
			}
			wg.Wait()

			stored := map[string]int{}
			partitionOf := map[string]map[int]bool{} // customer → partitions holding its actions
			for part := range tc.partitions {
				stream := jetstream.PartitionStream(v1alpha1.DefaultActionStream, part, tc.partitions)
				filter := jetstream.ActionStreamSubject
				if tc.partitions > 1 {
					filter = jetstream.PartitionStreamSubject(part)
				}
				for _, m := range h.messages(stream, filter) {
					var a wire.ActionMessage
					if err := json.Unmarshal(m.Data, &a); err != nil {
						t.Fatal(err)
					}
					cus := fmt.Sprint(a.Params["recipients"])
					if a.Action == "identifyUser" {
						cus = fmt.Sprintf("[%v]", a.Params["id"])
					}
					stored[a.Mapping+" "+a.Action+" "+cus]++
					if partitionOf[cus] == nil {
						partitionOf[cus] = map[int]bool{}
					}
					partitionOf[cus][part] = true
				}
			}
			for i := range events {
				cus := fmt.Sprintf("[cus_evt_%02d]", i)
				for _, action := range []string{"welcome triggerWorkflow", "crm identifyUser", "crm triggerWorkflow"} {
					if n := stored[action+" "+cus]; n != 1 {
						t.Errorf("event %d: %s stored %d times, want once", i, action, n)
					}
				}
				if len(partitionOf[cus]) != 1 {
					t.Errorf("event %d: its actions are in partitions %v, want one", i, partitionOf[cus])
				}
			}
			published := 0
			for _, s := range sums {
				published += s.Published
				if s.Published+s.Duplicate+s.AlreadyStored != 3*events || s.Failed != 0 {
					t.Errorf("a replay's summary = %+v", s)
				}
			}
			if published != 2*events {
				t.Errorf("the replays published %d actions between them, want %d", published, 2*events)
			}
		})
	}
}

// useActionStreams recreates the action stream with the given storage, split into
// partitions.
func useActionStreams(t *testing.T, h *harness, storage natsjs.StorageType, partitions int) {
	t.Helper()
	if storage == natsjs.FileStorage && partitions < 2 {
		return
	}
	ctx := context.Background()
	if err := h.client.JetStream().DeleteStream(ctx, v1alpha1.DefaultActionStream); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range jetstream.ActionStreamConfigs(v1alpha1.DefaultActionStream, partitions, time.Hour, 1, storage) {
		if _, err := jetstream.EnsureStream(ctx, h.client.JetStream(), cfg); err != nil {
			t.Fatal(err)
		}
	}
}

// Only events that passed verification can be replayed, and a selection names them by
// type, time, id or outcome.
func TestReplaySelection(t *testing.T) {
	stripe := sourceCases["stripe"]
	welcome := mapping("welcome", trigger("customer.subscription.created", "[body.data.object.customer]"))
	in := fixture("stripe", stripe.spec, stripe.secret)
	in.EventMappings = []v1alpha1.EventMapping{welcome}
	h := newHarness(t, in)

	sub := h.send(replaySE, subscriptionEvent("evt_s"))
	inv := h.send(replaySE, invoiceEvent("evt_i"))
	header, path := h.sign(replaySE, subscriptionEvent("evt_forged"))
	header.Set("Stripe-Signature", "t=1,v1=00")
	forged := h.post(h.http.URL, path, header, subscriptionEvent("evt_forged"))
	if forged.Status != http.StatusUnauthorized {
		t.Fatalf("forged: %+v", forged)
	}
	h.eventLog(replaySE, sub.EventIDs[0])
	h.eventLog(replaySE, inv.EventIDs[0])
	waitFor(t, "the refused record", func() bool { return h.logCount() == 3 })
	fixed := in
	fixed.EventMappings = []v1alpha1.EventMapping{welcome, mapping("receipt", trigger("invoice.paid", "[body.data.object.customer]"))}

	tests := map[string]struct {
		sel                   ingress.ReplaySelection
		considered, published int
		skipped               string
	}{
		"everything":             {ingress.ReplaySelection{}, 3, 1, ingress.SkipNotVerified},
		"refused: not verified":  {ingress.ReplaySelection{Outcomes: []ingress.ReplayOutcome{ingress.OutcomeRefused}}, 1, 0, ingress.SkipNotVerified},
		"no actions":             {ingress.ReplaySelection{Outcomes: []ingress.ReplayOutcome{ingress.OutcomeNoActions}}, 1, 1, ""},
		"failed: none":           {ingress.ReplaySelection{Outcomes: []ingress.ReplayOutcome{ingress.OutcomeFailed}}, 0, 0, ""},
		"by type":                {ingress.ReplaySelection{Types: []string{"customer.subscription.created"}}, 1, 0, ""},
		"by id":                  {ingress.ReplaySelection{IDs: inv.EventIDs}, 1, 1, ""},
		"an id not in the log":   {ingress.ReplaySelection{IDs: []string{"nope"}}, 1, 0, ingress.SkipNotFound},
		"since after them":       {ingress.ReplaySelection{Since: time.Now().Add(time.Minute)}, 0, 0, ""},
		"until before them":      {ingress.ReplaySelection{Until: time.Now().Add(-time.Hour)}, 0, 0, ""},
		"in a range holding all": {ingress.ReplaySelection{Since: time.Now().Add(-time.Hour), Until: time.Now()}, 3, 1, ingress.SkipNotVerified},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			sum, _ := replay(t, h.replayer(fixed, true), tt.sel)
			if sum.Considered != tt.considered || sum.Published != tt.published {
				t.Errorf("summary = %+v, want %d considered, %d to publish", sum, tt.considered, tt.published)
			}
			if tt.skipped != "" && sum.Skipped[tt.skipped] != 1 {
				t.Errorf("skipped = %v, want one %q", sum.Skipped, tt.skipped)
			}
		})
	}
}

// A replayed action carries the id the ingress gives that action, so a consumer that
// de-duplicates by id sees one action.
func TestReplayedActionsCarryTheIngressIDs(t *testing.T) {
	stripe := sourceCases["stripe"]
	welcome := mapping("welcome", trigger("customer.subscription.created", "[body.data.object.customer]"))
	in := fixture("stripe", stripe.spec, stripe.secret)
	in.EventMappings = []v1alpha1.EventMapping{welcome}
	h := newHarness(t, in)
	a := h.send(replaySE, subscriptionEvent("evt_id"))
	orig := h.actions(jetstream.ActionStreamSubject)[0]
	rec := h.eventLog(replaySE, a.EventIDs[0])
	// Forget that the action was stored: the replay publishes it again, under the same id.
	r := h.replayer(in, true)
	_, events := replay(t, r, ingress.ReplaySelection{IDs: a.EventIDs})
	if len(events) != 1 || len(events[0].Actions) != 1 || !events[0].Actions[0].AlreadyStored {
		t.Fatalf("dry run of a stored event: %+v", events)
	}
	var m wire.ActionMessage
	if err := json.Unmarshal(events[0].Actions[0].Message, &m); err != nil {
		t.Fatal(err)
	}
	if m.ID != orig.ID || !m.Event.ReceivedAt.Equal(rec.Time) {
		t.Errorf("replayed action id %q, receivedAt %v; want the ingress's %q, %v", m.ID, m.Event.ReceivedAt, orig.ID, rec.Time)
	}
}

// A body that is not JSON (a form), kept in the log as a JSON string, is replayed as the
// form it was.
func TestReplayOfAFormBody(t *testing.T) {
	stripe := sourceCases["stripe"]
	in := fixture("stripe", stripe.spec, stripe.secret)
	h := newHarness(t, in)
	form := "id=evt_form&type=invoice.paid&customer=cus_form"
	payload, _ := json.Marshal(form)
	rec := wire.EventRecord{Kind: "event", ID: "form1", Time: time.Now().UTC(), Namespace: ns, SourceEnvironment: replaySE,
		Source: "stripe", SourceType: "stripe", Environment: "production", Type: "invoice.paid", IdempotencyKey: "evt_form",
		Verified: true, Status: wire.EventAccepted, Size: len(form),
		Headers: map[string]string{"content-type": "application/x-www-form-urlencoded", "stripe-signature": "[redacted]"},
		Payload: payload}
	data, _ := json.Marshal(rec)
	if _, err := h.client.PublishAll(context.Background(), []jetstream.Message{{Subject: jetstream.EventLogSubject(ns, replaySE, rec.ID), Data: data}}); err != nil {
		t.Fatal(err)
	}
	fixed := in
	fixed.EventMappings = []v1alpha1.EventMapping{mapping("receipt", trigger("invoice.paid", "[body.customer]"))}
	sum, events := replay(t, h.replayer(fixed, false), ingress.ReplaySelection{IDs: []string{"form1"}})
	if got := h.storedActions(); sum.Published != 1 || got["receipt [cus_form]"] != 1 {
		t.Errorf("replay of a form = %+v, stored %v", sum, got)
	}
	// The replay's record keeps the payload as the original's did.
	if rec := h.eventLog(replaySE, events[0].ID); string(rec.Payload) != string(payload) || rec.ReplayOf != "form1" {
		t.Errorf("replay record: payload %s, replayOf %q", rec.Payload, rec.ReplayOf)
	}
}
