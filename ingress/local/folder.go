package local

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"inlet.dev/inlet/api/validation"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
)

// reloadDelay is the wait between a change in the folder and the reload it causes, so
// that an editor's burst of writes costs one reload.
const reloadDelay = 150 * time.Millisecond

// Options configure a Folder.
type Options struct {
	// Dir is the folder of manifests served.
	Dir string
	// Namespace is the namespace of manifests that name none.
	Namespace string
	// TokensFile keeps the endpoint tokens between runs (EndpointTokens).
	TokensFile string
	// Validator checks every manifest with the CRDs' schemas.
	Validator *validation.Validator
	// JetStream is where the streams the SourceEnvironments publish to are ensured.
	JetStream natsjs.JetStream
	// Apply serves each snapshot built.
	Apply func(*config.Snapshot)
	// Out receives what a person running inlet dev reads: each object refused or not
	// served, with the file it was read from, and a summary of each load.
	Out io.Writer
}

// Folder serves a folder of manifests: Reload reads it, Watch reloads it whenever a
// file in it changes. Create it with NewFolder.
type Folder struct {
	opts Options
	mu   sync.Mutex
}

// NewFolder returns a Folder; nothing is read until Reload or Watch.
func NewFolder(opts Options) *Folder { return &Folder{opts: opts} }

// Reload reads, validates and compiles the folder, ensures the streams and applies the
// new snapshot. A bad manifest is reported with its file and field and left out; an
// error (the folder cannot be read, a stream cannot be ensured) leaves the previous
// snapshot served.
func (f *Folder) Reload(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.opts.Out
	in, where, bad, err := Load(f.opts.Validator, f.opts.Namespace, f.opts.Dir)
	if err != nil {
		return err
	}
	for _, msg := range bad {
		fmt.Fprintln(out, "  refused", msg)
	}
	tokens, err := EndpointTokens(f.opts.TokensFile, in)
	if err != nil {
		return err
	}
	in.Secrets = append(in.Secrets, tokens...)
	snap := config.Build(in)
	for _, p := range snap.Problems {
		fmt.Fprintln(out, "  not served:", where.Problem(in, p))
	}
	if err := ensureStreams(ctx, f.opts.JetStream, snap.Streams()); err != nil {
		return err
	}
	f.opts.Apply(snap)
	mappings := 0
	for _, e := range snap.Environments() {
		mappings += e.MappingCount()
	}
	fmt.Fprintf(out, "loaded %s: %d source environments, %d mappings, %d not served\n",
		f.opts.Dir, len(snap.Environments()), mappings, len(snap.Problems)+len(bad))
	return nil
}

// ensureStreams creates or updates the streams a snapshot publishes to, on the one
// server of self-hosted mode: one replica, on file.
func ensureStreams(ctx context.Context, js natsjs.JetStream, needs config.StreamNeeds) error {
	for name, window := range needs.ActionStreams {
		for _, cfg := range jetstream.ActionStreamConfigs(name, needs.ActionPartitions[name], window, 1, natsjs.FileStorage) {
			if _, err := jetstream.EnsureStream(ctx, js, cfg); err != nil {
				return fmt.Errorf("action stream %s: %w", cfg.Name, err)
			}
		}
	}
	for name, retention := range needs.LogStreams {
		if _, err := jetstream.EnsureStream(ctx, js, jetstream.LogStreamConfig(name, retention, 1, natsjs.FileStorage)); err != nil {
			return fmt.Errorf("log stream %s: %w", name, err)
		}
	}
	return nil
}

// Watch reloads the folder shortly after a file in it changes, until ctx is done; it
// is a live.Feed. A failed reload is reported and the previous snapshot stays served.
// When the folder cannot be watched it says so and serves what was loaded.
func (f *Folder) Watch(ctx context.Context) error {
	out := f.opts.Out
	w, err := fsnotify.NewWatcher()
	if err == nil {
		defer w.Close()
		err = w.Add(f.opts.Dir)
	}
	if err != nil {
		fmt.Fprintln(out, "cannot watch for changes:", err)
		<-ctx.Done()
		return nil
	}
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-w.Events:
			if ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Remove|fsnotify.Rename) != 0 {
				timer = time.After(reloadDelay)
			}
		case err := <-w.Errors:
			fmt.Fprintln(out, "watch:", err)
		case <-timer:
			timer = nil
			if err := f.Reload(ctx); err != nil {
				fmt.Fprintln(out, "reload failed, still serving the previous configuration:", err)
			}
		}
	}
}
