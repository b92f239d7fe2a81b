package local_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/api/validation"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
	"inlet.dev/inlet/ingress/local"
)

// sample reads a file of config/samples.
func sample(t *testing.T, name string) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "config", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// samples copies files of config/samples into a new folder.
func samples(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), sample(t, n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func validator(t *testing.T) *validation.Validator {
	t.Helper()
	v, err := validation.New()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLoadRefusesInvalidObjectsByFile(t *testing.T) {
	dir := samples(t, "stripe.yaml")
	bad := `apiVersion: inlet.dev/v1alpha1
kind: SourceEnvironment
metadata: {name: nowhere, namespace: other}
spec: {environment: production}
`
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	in, where, refused, err := local.Load(validator(t), "shop", dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != 1 || !strings.Contains(refused[0], filepath.Join(dir, "bad.yaml")+"#0") || !strings.Contains(refused[0], "sourceRef") {
		t.Errorf("refused = %q, want bad.yaml's missing sourceRef", refused)
	}
	if len(in.SourceEnvironments) != 1 || in.SourceEnvironments[0].Namespace != "shop" {
		t.Errorf("loaded %+v, want stripe-production in shop", in.SourceEnvironments)
	}
	key := types.NamespacedName{Namespace: "shop", Name: "stripe-winback"}
	if got := where.Of("EventMapping", key); !strings.HasPrefix(got, filepath.Join(dir, "stripe.yaml")+"#") {
		t.Errorf("Of = %q, want its file", got)
	}
	if got := where.Of("EventMapping", types.NamespacedName{Namespace: "shop", Name: "gone"}); got != "EventMapping shop/gone" {
		t.Errorf("Of an unknown object = %q", got)
	}

	if _, _, _, err := local.Load(nil, "shop", filepath.Join(dir, "missing")); err == nil {
		t.Error("Load of a missing folder did not fail")
	}
}

func TestEndpointTokensAreKeptInTheirFile(t *testing.T) {
	dir := samples(t, "segment.yaml", "stripe.yaml")
	in, _, _, err := local.Load(nil, "default", dir)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), local.TokensFile)
	first, err := local.EndpointTokens(file, in)
	if err != nil {
		t.Fatal(err)
	}
	// Only segment signs nothing; stripe gets no token.
	if len(first) != 1 || first[0].Name != config.EndpointTokenSecretName("segment-production") {
		t.Fatalf("secrets = %+v", first)
	}
	token := string(first[0].Data[config.EndpointTokenKey])
	if len(token) != 43 {
		t.Errorf("token %q: want 256 bits, base64url", token)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("tokens file: %v, %v; want mode 0600", st, err)
	}
	saved, err := local.ReadTokens(file)
	if err != nil || saved["default/segment-production"] != token {
		t.Errorf("saved tokens %v, %v", saved, err)
	}
	again, err := local.EndpointTokens(file, in)
	if err != nil || string(again[0].Data[config.EndpointTokenKey]) != token {
		t.Errorf("second run generated another token: %v", err)
	}
	throwaway, err := local.EndpointTokens("", in)
	if err != nil || string(throwaway[0].Data[config.EndpointTokenKey]) == token {
		t.Errorf("without a file: %v, the saved token reused", err)
	}
}

// syncBuffer is a bytes.Buffer safe for the watcher's goroutine and the test's.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestFolderServesAndReloads loads a folder, ensures its streams in a real NATS
// server, and reloads when a file changes.
func TestFolderServesAndReloads(t *testing.T) {
	dir := samples(t, "stripe.yaml")
	_, url := natstest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nc, err := jetstream.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	snaps := make(chan *config.Snapshot, 10)
	var out syncBuffer
	f := local.NewFolder(local.Options{Dir: dir, Namespace: "default", TokensFile: filepath.Join(t.TempDir(), local.TokensFile),
		Validator: validator(t), JetStream: nc.JetStream(), Apply: func(s *config.Snapshot) { snaps <- s }, Out: &out})
	if err := f.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	snap := <-snaps
	if n := len(snap.Environments()); n != 1 {
		t.Fatalf("%d environments served, want 1", n)
	}
	for name := range snap.Streams().ActionStreams {
		if _, err := nc.JetStream().Stream(ctx, name); err != nil {
			t.Errorf("action stream %s: %v", name, err)
		}
	}
	if !strings.Contains(out.String(), "loaded "+dir+": 1 source environments") {
		t.Errorf("output %q", out.String())
	}

	done := make(chan error, 1)
	go func() { done <- f.Watch(ctx) }()
	time.Sleep(200 * time.Millisecond) // the watch is set up
	if err := os.WriteFile(filepath.Join(dir, "segment.yaml"), sample(t, "segment.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case snap := <-snaps:
		if n := len(snap.Environments()); n != 2 {
			t.Errorf("after adding segment.yaml: %d environments, want 2", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no reload after a file was added; output:\n%s", out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch: %v", err)
	}
}
