package controllers

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"inlet.dev/inlet/api/v1alpha1"
	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
)

// TestStreamsOnAClusterAreNeverDowngraded runs the operator, with its default of one
// replica, against a three-server NATS cluster whose operator created the streams R3
// beforehand: they stay R3, also when a SourceEnvironment explicitly asks for fewer,
// and StreamsReady says so; a storage JetStream cannot change in place is reported
// there too, while the other settings are applied.
func TestStreamsOnAClusterAreNeverDowngraded(t *testing.T) {
	cl := natstest.StartCluster(t, 3)
	h := startOn(t, Options{}, cl.URL())
	for _, cfg := range []jetstream.StreamConfig{
		inletjs.ActionStreamConfig(v1alpha1.DefaultActionStream, 24*time.Hour, 3, jetstream.FileStorage),
		inletjs.LogStreamConfig(v1alpha1.DefaultLogStream, time.Hour, 3, jetstream.FileStorage),
	} {
		if _, err := h.js.CreateStream(h.ctx(), cfg); err != nil {
			t.Fatalf("create %s R3: %v", cfg.Name, err)
		}
	}
	replicas := func(want int) error {
		for _, name := range []string{v1alpha1.DefaultActionStream, v1alpha1.DefaultLogStream} {
			cfg, err := h.stream(name)
			if err != nil {
				return err
			}
			if cfg.Replicas != want {
				return fmt.Errorf("stream %s is R%d, want R%d", name, cfg.Replicas, want)
			}
		}
		return nil
	}

	h.applySamples("stripe.yaml")
	se := h.waitForCondition("stripe-production", v1alpha1.ConditionStreamsReady, metav1.ConditionTrue, v1alpha1.ReasonStreamsReady)
	if err := replicas(3); err != nil {
		t.Fatalf("after the reconcile: %v", err)
	}
	c := meta.FindStatusCondition(se.Status.Conditions, v1alpha1.ConditionStreamsReady)
	if !strings.Contains(c.Message, "stream INLET_ACTIONS (R3 (R1 asked: replicas are never lowered), file storage") {
		t.Errorf("StreamsReady message = %q, want the action stream's R3 kept", c.Message)
	}

	// An explicit request for fewer replicas does not lower them either.
	one := int32(1)
	se.Spec.Publish.ActionStreamSettings.Replicas = &one
	if err := h.c.Update(h.ctx(), se); err != nil {
		t.Fatal(err)
	}
	eventually(t, "StreamsReady for the new generation", func() error {
		se, err := h.sourceEnvironment("stripe-production")
		if err != nil {
			return err
		}
		return hasCondition(se.Status.Conditions, se.Generation, v1alpha1.ConditionStreamsReady, metav1.ConditionTrue, v1alpha1.ReasonStreamsReady)
	})
	if err := replicas(3); err != nil {
		t.Fatalf("after asking R1: %v", err)
	}

	// Memory storage cannot be set on the existing file stream: StreamsReady says so,
	// the stream keeps its storage and the rest is applied.
	se, err := h.sourceEnvironment("stripe-production")
	if err != nil {
		t.Fatal(err)
	}
	se.Spec.Publish.LogStreamSettings.Storage = v1alpha1.StreamStorageMemory
	se.Spec.Publish.LogRetention = &v1alpha1.Duration{Duration: 200 * time.Hour}
	if err := h.c.Update(h.ctx(), se); err != nil {
		t.Fatal(err)
	}
	eventually(t, "StreamsReady for the memory request", func() error {
		se, err := h.sourceEnvironment("stripe-production")
		if err != nil {
			return err
		}
		if err := hasCondition(se.Status.Conditions, se.Generation, v1alpha1.ConditionStreamsReady, metav1.ConditionTrue, v1alpha1.ReasonStreamsReady); err != nil {
			return err
		}
		c := meta.FindStatusCondition(se.Status.Conditions, v1alpha1.ConditionStreamsReady)
		if want := "file storage (Memory asked: JetStream cannot change an existing stream's storage; delete the stream to recreate it), retention 200h0m0s"; !strings.Contains(c.Message, want) {
			return fmt.Errorf("StreamsReady message = %q, want %q", c.Message, want)
		}
		return nil
	})
	if cfg, err := h.stream(v1alpha1.DefaultLogStream); err != nil || cfg.Storage != jetstream.FileStorage || cfg.Replicas != 3 || cfg.MaxAge != 200*time.Hour {
		t.Errorf("log stream after asking memory: %+v, %v; want file R3 kept, retention 200h applied", cfg, err)
	}
}

// TestStreamSettingsAreApplied checks that asking for more replicas and a size bound
// changes the streams in place.
func TestStreamSettingsAreApplied(t *testing.T) {
	cl := natstest.StartCluster(t, 3)
	h := startOn(t, Options{Streams: StreamDefaults{LogMaxBytes: 64 << 20}}, cl.URL())
	h.applySamples("stripe.yaml")
	se := h.waitForCondition("stripe-production", v1alpha1.ConditionStreamsReady, metav1.ConditionTrue, v1alpha1.ReasonStreamsReady)
	if cfg, err := h.stream(v1alpha1.DefaultLogStream); err != nil || cfg.Replicas != 1 || cfg.MaxBytes != 64<<20 {
		t.Fatalf("log stream: %+v, %v; want R1 bounded to 64 MiB", cfg, err)
	}
	three := int32(3)
	se.Spec.Publish.ActionStreamSettings.Replicas = &three
	se.Spec.Publish.LogStreamSettings.Replicas = &three
	if err := h.c.Update(h.ctx(), se); err != nil {
		t.Fatal(err)
	}
	eventually(t, "streams R3", func() error {
		for _, name := range []string{v1alpha1.DefaultActionStream, v1alpha1.DefaultLogStream} {
			cfg, err := h.stream(name)
			if err != nil {
				return err
			}
			if cfg.Replicas != 3 {
				return fmt.Errorf("stream %s is R%d", name, cfg.Replicas)
			}
		}
		return nil
	})
}

// TestPartitionedActionStreams runs the operator with --action-partitions 3 against a
// three-server NATS cluster: each partition is a stream of its own, JetStream places
// them on different servers (so the window's memory divides among them), StreamsReady
// describes them once, the ingress pods are told the count, idempotencyKeysHeld adds up
// every partition's ids while the budget is held against the fullest partition (what
// one server keeps), and a SourceEnvironment's own spec.publish.partitions wins.
func TestPartitionedActionStreams(t *testing.T) {
	cl := natstest.StartCluster(t, 3)
	h := startOn(t, Options{ResyncInterval: 300 * time.Millisecond, KeysBudget: 20, Streams: StreamDefaults{Partitions: 3}}, cl.URL())
	h.applySamples("stripe.yaml")
	se := h.waitForCondition("stripe-production", v1alpha1.ConditionStreamsReady, metav1.ConditionTrue, v1alpha1.ReasonStreamsReady)
	c := meta.FindStatusCondition(se.Status.Conditions, v1alpha1.ConditionStreamsReady)
	if want := "streams INLET_ACTIONS_P0 to INLET_ACTIONS_P2 (3 partitions, R1, file storage, duplicate window 24h0m0s"; !strings.Contains(c.Message, want) {
		t.Errorf("StreamsReady message = %q, want it to contain %q", c.Message, want)
	}
	servers := map[string]bool{}
	for p := range 3 {
		name := inletjs.PartitionStream(v1alpha1.DefaultActionStream, p, 3)
		s, err := h.js.Stream(h.ctx(), name)
		if err != nil {
			t.Fatalf("partition stream %s: %v", name, err)
		}
		info := s.CachedInfo()
		if got := info.Config.Subjects; len(got) != 1 || got[0] != inletjs.PartitionStreamSubject(p) {
			t.Errorf("stream %s captures %v, want %s", name, got, inletjs.PartitionStreamSubject(p))
		}
		if info.Cluster != nil {
			servers[info.Cluster.Leader] = true
		}
	}
	if len(servers) < 2 {
		t.Errorf("the 3 partitions are all on %v: the window's memory is not spread", servers)
	}
	if _, err := h.js.Stream(h.ctx(), v1alpha1.DefaultActionStream); err == nil {
		t.Errorf("the unpartitioned stream %s exists, but no SourceEnvironment publishes to it", v1alpha1.DefaultActionStream)
	}

	var dep appsv1.Deployment
	if err := h.c.Get(h.ctx(), client.ObjectKey{Namespace: h.ns, Name: ingressName("stripe-production")}, &dep); err != nil {
		t.Fatal(err)
	}
	if args := dep.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--action-partitions=3") {
		t.Errorf("ingress args %v, want --action-partitions=3", args)
	}

	// Ids in every partition count; the budget looks at the fullest.
	perPartition := make([]int, 3)
	for i := range 30 {
		dedup := fmt.Sprintf("dedup_%d", i)
		p := inletjs.Partition(dedup, 3)
		perPartition[p]++
		subject := inletjs.PartitionSubject(inletjs.ActionSubject("production", "triggerWorkflow"), p, 3)
		if _, err := h.js.Publish(h.ctx(), subject, []byte("{}"), jetstream.WithMsgID(dedup)); err != nil {
			t.Fatal(err)
		}
	}
	largest := slices.Max(perPartition)
	eventually(t, "30 keys held over 3 partitions", func() error {
		se, err := h.sourceEnvironment("stripe-production")
		if err != nil {
			return err
		}
		if se.Status.IdempotencyKeysHeld != 30 {
			return fmt.Errorf("idempotencyKeysHeld %d", se.Status.IdempotencyKeysHeld)
		}
		msg := condition(se, v1alpha1.ConditionIdempotencyWithinBudget).Message
		if !strings.Contains(msg, "streams INLET_ACTIONS_P0 to INLET_ACTIONS_P2 (3 partitions) hold 30 idempotency keys") ||
			!strings.Contains(msg, fmt.Sprintf("at most %d in one partition", largest)) {
			return fmt.Errorf("IdempotencyWithinBudget message %q", msg)
		}
		// 30 ids in all, more than the budget of 20, but no server holds more than
		// the fullest partition's.
		return hasCondition(se.Status.Conditions, se.Generation, v1alpha1.ConditionIdempotencyWithinBudget, metav1.ConditionTrue, v1alpha1.ReasonWithinBudget)
	})

	// The SourceEnvironment's own setting wins over the operator's.
	one := int32(1)
	eventually(t, "spec.publish.partitions 1 written", func() error {
		se, err := h.sourceEnvironment("stripe-production")
		if err != nil {
			return err
		}
		se.Spec.Publish.Partitions = &one
		return h.c.Update(h.ctx(), se)
	})
	eventually(t, "the unpartitioned stream", func() error {
		_, err := h.stream(v1alpha1.DefaultActionStream)
		return err
	})
}
