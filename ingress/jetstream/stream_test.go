package jetstream_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
)

func TestEnsureStream(t *testing.T) {
	_, url := natstest.Start(t)
	c := connect(t, url)
	js := c.JetStream()
	ctx := ctxT(t, 30*time.Second)

	day := inletjs.ActionStreamConfig("ACTIONS", 24*time.Hour, 1, jetstream.FileStorage)
	hour := inletjs.ActionStreamConfig("ACTIONS", time.Hour, 1, jetstream.FileStorage)

	steps := []struct {
		name string
		do   func(t *testing.T)
		cfg  jetstream.StreamConfig
		want inletjs.EnsureResult
	}{
		{name: "create", cfg: day, want: inletjs.StreamCreated},
		{name: "again", cfg: day, want: inletjs.StreamUnchanged},
		{name: "change window", cfg: hour, want: inletjs.StreamUpdated},
		{name: "again after update", cfg: hour, want: inletjs.StreamUnchanged},
		{
			name: "keeps fields we do not own",
			do: func(t *testing.T) {
				s, err := js.Stream(ctx, "ACTIONS")
				if err != nil {
					t.Fatal(err)
				}
				cfg := s.CachedInfo().Config
				cfg.Metadata = map[string]string{"team": "notifications"}
				cfg.MaxAge = 10 * 24 * time.Hour
				if _, err := js.UpdateStream(ctx, cfg); err != nil {
					t.Fatal(err)
				}
			},
			cfg: hour, want: inletjs.StreamUpdated,
		},
		{
			name: "recreate after deletion",
			do: func(t *testing.T) {
				if err := js.DeleteStream(ctx, "ACTIONS"); err != nil {
					t.Fatal(err)
				}
			},
			cfg: day, want: inletjs.StreamCreated,
		},
		{name: "log stream", cfg: inletjs.LogStreamConfig("LOGS", 72*time.Hour, 1, jetstream.FileStorage), want: inletjs.StreamCreated},
		{name: "log stream again", cfg: inletjs.LogStreamConfig("LOGS", 72*time.Hour, 1, jetstream.FileStorage), want: inletjs.StreamUnchanged},
		{name: "log stream retention", cfg: inletjs.LogStreamConfig("LOGS", 24*time.Hour, 1, jetstream.FileStorage), want: inletjs.StreamUpdated},
		{
			name: "memory stream",
			do: func(t *testing.T) {
				if err := js.DeleteStream(ctx, "ACTIONS"); err != nil {
					t.Fatal(err)
				}
			},
			cfg: inletjs.ActionStreamConfig("MEM", 0, 1, jetstream.MemoryStorage), want: inletjs.StreamCreated},
		{name: "memory stream again", cfg: inletjs.ActionStreamConfig("MEM", 0, 0, jetstream.MemoryStorage), want: inletjs.StreamUnchanged},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			if step.do != nil {
				step.do(t)
			}
			got, err := inletjs.EnsureStream(ctx, js, step.cfg)
			if err != nil {
				t.Fatalf("EnsureStream: %v", err)
			}
			if got != step.want {
				t.Errorf("EnsureStream = %s, want %s", got, step.want)
			}
			s, err := js.Stream(ctx, step.cfg.Name)
			if err != nil {
				t.Fatal(err)
			}
			have := s.CachedInfo().Config
			if have.Duplicates != step.cfg.Duplicates || have.MaxAge != step.cfg.MaxAge || have.Storage != step.cfg.Storage {
				t.Errorf("stream has duplicates %s, max age %s, storage %s; want %s, %s, %s",
					have.Duplicates, have.MaxAge, have.Storage, step.cfg.Duplicates, step.cfg.MaxAge, step.cfg.Storage)
			}
		})
	}

	t.Run("storage is kept unless required", func(t *testing.T) {
		cfg := inletjs.ActionStreamConfig("MEM", 24*time.Hour, 1, jetstream.FileStorage)
		if got, err := inletjs.EnsureStream(ctx, js, cfg); err != nil || got != inletjs.StreamUpdated {
			t.Fatalf("EnsureStream with another storage = %s, %v; want %s", got, err, inletjs.StreamUpdated)
		}
		s, err := js.Stream(ctx, "MEM")
		if err != nil {
			t.Fatal(err)
		}
		if have := s.CachedInfo().Config; have.Storage != jetstream.MemoryStorage || have.Duplicates != 24*time.Hour {
			t.Errorf("stream has storage %s and window %s, want memory kept and 24h", have.Storage, have.Duplicates)
		}
	})

	t.Run("storage cannot change", func(t *testing.T) {
		_, err := inletjs.EnsureStream(ctx, js, inletjs.ActionStreamConfig("MEM", 24*time.Hour, 1, jetstream.FileStorage), inletjs.RequireStorage())
		if err == nil || !strings.Contains(err.Error(), "storage") {
			t.Errorf("EnsureStream with another storage required: err = %v, want a storage error", err)
		}
	})

	t.Run("overlapping subjects are refused", func(t *testing.T) {
		_, err := inletjs.EnsureStream(ctx, js, inletjs.ActionStreamConfig("OTHER", time.Hour, 1, jetstream.FileStorage))
		if err == nil {
			t.Error("EnsureStream of a second stream on the same subjects succeeded")
		}
	})
}

func TestEnsureStreamKeepsForeignFields(t *testing.T) {
	_, url := natstest.Start(t)
	c := connect(t, url)
	js := c.JetStream()
	ctx := ctxT(t, 30*time.Second)

	cfg := inletjs.ActionStreamConfig("ACTIONS", time.Hour, 1, jetstream.FileStorage)
	ensure(t, c, cfg)
	s, err := js.Stream(ctx, "ACTIONS")
	if err != nil {
		t.Fatal(err)
	}
	foreign := s.CachedInfo().Config
	foreign.Metadata = map[string]string{"team": "notifications"}
	foreign.Duplicates = 2 * time.Hour
	if _, err := js.UpdateStream(ctx, foreign); err != nil {
		t.Fatal(err)
	}

	if got := ensure(t, c, cfg); got != inletjs.StreamUpdated {
		t.Fatalf("EnsureStream = %s, want %s", got, inletjs.StreamUpdated)
	}
	s, err = js.Stream(ctx, "ACTIONS")
	if err != nil {
		t.Fatal(err)
	}
	have := s.CachedInfo().Config
	if have.Duplicates != time.Hour {
		t.Errorf("duplicate window = %s, want 1h", have.Duplicates)
	}
	if have.Metadata["team"] != "notifications" {
		t.Errorf("metadata = %v, want the team kept", have.Metadata)
	}
}

// An action stream made by an older inlet captured every subject under inlet.actions;
// EnsureStream narrows it to the unpartitioned subjects, so that the streams of
// partitions can be created beside it, each capturing its own partition's subjects.
func TestPartitionStreamsBesideAnOlderActionStream(t *testing.T) {
	_, url := natstest.Start(t)
	c := connect(t, url)
	js := c.JetStream()
	ctx := ctxT(t, 30*time.Second)
	old := inletjs.ActionStreamConfig("ACTIONS", time.Hour, 1, jetstream.FileStorage)
	old.Subjects = []string{"inlet.actions.>"}
	if _, err := js.CreateStream(ctx, old); err != nil {
		t.Fatal(err)
	}
	parts := inletjs.ActionStreamConfigs("ACTIONS", 4, time.Hour, 1, jetstream.FileStorage)
	if _, err := inletjs.EnsureStream(ctx, js, parts[0]); err == nil {
		t.Fatal("a partition stream was created while another stream captured its subjects")
	}
	if got := ensure(t, c, inletjs.ActionStreamConfig("ACTIONS", time.Hour, 1, jetstream.FileStorage)); got != inletjs.StreamUpdated {
		t.Fatalf("EnsureStream on the older stream = %s, want %s", got, inletjs.StreamUpdated)
	}
	names := make([]string, 0, len(parts))
	for _, cfg := range parts {
		if got := ensure(t, c, cfg); got != inletjs.StreamCreated {
			t.Fatalf("partition stream %s: %s, want %s", cfg.Name, got, inletjs.StreamCreated)
		}
		names = append(names, cfg.Name)
	}
	if want := []string{"ACTIONS_P0", "ACTIONS_P1", "ACTIONS_P2", "ACTIONS_P3"}; !slices.Equal(names, want) {
		t.Errorf("partition streams %v, want %v", names, want)
	}
	for i, subject := range []string{
		"inlet.actions.production.identifyUser",
		"inlet.actions.production.identifyUser.0",
		"inlet.actions.production.identifyUser.3",
	} {
		want := []string{"ACTIONS", "ACTIONS_P0", "ACTIONS_P3"}[i]
		ack, err := js.Publish(ctx, subject, []byte("{}"))
		if err != nil {
			t.Fatalf("publish %s: %v", subject, err)
		}
		if ack.Stream != want {
			t.Errorf("%s stored in %s, want %s", subject, ack.Stream, want)
		}
	}
}
