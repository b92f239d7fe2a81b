package controllers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
