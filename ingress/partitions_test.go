package ingress_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/wire"
)

// With spec.publish.partitions, each event goes whole to the partition stream its
// de-duplication id hashes to (a consumer can compute which), its actions in order, and
// a redelivery is recognised there; the unpartitioned stream beside them gets nothing.
func TestPartitionedActionStream(t *testing.T) {
	const partitions = 3
	stripe := sourceCases["stripe"]
	in := fixture("stripe", stripe.spec, stripe.secret, v1alpha1.EventMappingSpec{EventType: stripe.eventType, Actions: []v1alpha1.Action{
		{TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{Workflow: "w", Recipients: "[body.data.object.customer]"}},
		{IdentifyUser: &v1alpha1.IdentifyUserAction{ID: "body.data.object.customer"}},
	}})
	p := int32(partitions)
	in.SourceEnvironments[0].Spec.Publish.Partitions = &p
	h := newHarness(t, in)
	for _, cfg := range jetstream.ActionStreamConfigs(v1alpha1.DefaultActionStream, partitions, time.Hour, 1, natsjs.FileStorage) {
		if _, err := jetstream.EnsureStream(context.Background(), h.client.JetStream(), cfg); err != nil {
			t.Fatalf("stream %s: %v", cfg.Name, err)
		}
	}

	const events = 30
	for i := range events {
		body := strings.Replace(stripe.body, `"evt_1"`, fmt.Sprintf(`"evt_part_%d"`, i), 1)
		if a := h.send("stripe-test", []byte(body)); a.Status != 200 || a.Actions != 2 || a.Duplicates != 0 {
			t.Fatalf("event %d: answer = %+v, want 200 with 2 new actions", i, a)
		}
		if a := h.send("stripe-test", []byte(body)); a.Status != 200 || a.Duplicates != 2 || !a.Idempotent {
			t.Fatalf("event %d again: answer = %+v, want 200 with 2 duplicates", i, a)
		}
	}

	if got := h.messages(v1alpha1.DefaultActionStream, jetstream.ActionStreamSubject); len(got) != 0 {
		t.Errorf("the unpartitioned stream holds %d messages, want none", len(got))
	}
	stored := 0
	for part := range partitions {
		stream := jetstream.PartitionStream(v1alpha1.DefaultActionStream, part, partitions)
		msgs := h.messages(stream, jetstream.PartitionStreamSubject(part))
		if len(msgs) == 0 {
			t.Errorf("partition %d (%s) holds no action of %d events", part, stream, events)
		}
		stored += len(msgs)
		if len(msgs)%2 != 0 {
			t.Fatalf("partition %d holds %d messages: an event was split", part, len(msgs))
		}
		for i := 0; i < len(msgs); i += 2 {
			var first, second wire.ActionMessage
			if json.Unmarshal(msgs[i].Data, &first) != nil || json.Unmarshal(msgs[i+1].Data, &second) != nil {
				t.Fatalf("partition %d: messages at %d, %d are not actions", part, msgs[i].Sequence, msgs[i+1].Sequence)
			}
			if first.Event.ID != second.Event.ID || first.Action != "identifyUser" || second.Action != "triggerWorkflow" ||
				msgs[i+1].Sequence != msgs[i].Sequence+1 {
				t.Errorf("partition %d: seq %d %s of %s then seq %d %s of %s, want one event's identifyUser then triggerWorkflow",
					part, msgs[i].Sequence, first.Action, first.Event.ID, msgs[i+1].Sequence, second.Action, second.Event.ID)
			}
			dedup := jetstream.MsgID(first.Event.IdempotencyKey, first.Event.Type, ns+"/stripe-test", "production")
			if want := jetstream.Partition(dedup, partitions); want != part {
				t.Errorf("event %s is in partition %d, want %d (fnv1a64 of its de-duplication id)", first.Event.IdempotencyKey, part, want)
			}
			if want := fmt.Sprintf("inlet.actions.production.identifyUser.%d", part); msgs[i].Subject != want {
				t.Errorf("subject %s, want %s", msgs[i].Subject, want)
			}
		}
	}
	if stored != 2*events {
		t.Errorf("the partitions hold %d actions, want %d: each event's 2 actions once", stored, 2*events)
	}
}
