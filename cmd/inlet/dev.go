package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/go-logr/logr"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/api/manifests"
	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/api/validation"
	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/provider"
)

type devOptions struct {
	dir           string
	listen        string
	metricsListen string
	natsListen    string
	natsURL       string
	data          string
	namespace     string
	verbose       bool
}

func newDevCommand() *cobra.Command {
	o := devOptions{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Serve the manifests in a folder on this machine, with an embedded NATS server",
		Long: `dev runs inlet on one machine in self-hosted mode: it reads Source,
SourceEnvironment, EventMapping and Secret manifests from a folder, validates them with
the CRDs' own schemas and the CEL compiler, starts an embedded NATS server with
JetStream, and serves every SourceEnvironment's endpoint. Editing a file reloads it
within a second; a bad manifest is reported and the others keep working. As in a
cluster, /metrics is served on a port of its own, --metrics-listen, not with the
endpoints on --listen.`,
		Example: `  inlet dev                       # config/samples, ingress on 127.0.0.1:8080, metrics on 127.0.0.1:9090, NATS on 127.0.0.1:4222
  inlet dev --dir ./inlet         # your own manifests
  inlet send --source-environment stripe-production --sample customer.subscription.created`,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context(), cmd.OutOrStdout()) },
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "config/samples", "folder of manifests to serve")
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address the ingress listens on: events, /healthz and /readyz")
	f.StringVar(&o.metricsListen, "metrics-listen", "127.0.0.1:9090", "address for /metrics; 0 or empty turns metrics off")
	f.StringVar(&o.natsListen, "nats-listen", "127.0.0.1:4222", "address the embedded NATS server listens on")
	f.StringVar(&o.natsURL, "nats-url", "", "use this NATS server instead of the embedded one")
	f.StringVar(&o.data, "data", ".inlet/dev", "folder for NATS storage and endpoint tokens, kept between runs")
	f.StringVar(&o.namespace, "namespace", "default", "namespace of manifests that name none")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log every request")
	return cmd
}

func (o *devOptions) run(ctx context.Context, out io.Writer) error {
	start := time.Now()
	ingress.TuneRuntime()
	log := newLogger(o.verbose)
	if err := os.MkdirAll(o.data, 0o700); err != nil {
		return err
	}
	natsURL := o.natsURL
	var client *jetstream.Client
	if natsURL == "" {
		host, portText, err := net.SplitHostPort(o.natsListen)
		if err != nil {
			return fmt.Errorf("--nats-listen: %w", err)
		}
		port, _ := strconv.Atoi(portText)
		srv, err := jetstream.RunEmbedded(jetstream.EmbeddedOptions{Host: host, Port: port, StoreDir: filepath.Join(o.data, "nats"), NoLog: true, ServerName: "inlet-dev"})
		if err != nil {
			return fmt.Errorf("start embedded NATS on %s (is another inlet dev running? --nats-listen picks another address): %w", o.natsListen, err)
		}
		defer srv.Shutdown()
		natsURL = srv.ClientURL()
		client, err = jetstream.Connect(ctx, natsURL, jetstream.WithName("inlet-dev"), jetstream.WithInProcessServer(srv))
		if err != nil {
			return err
		}
	} else {
		var err error
		if client, err = jetstream.Connect(ctx, natsURL, jetstream.WithName("inlet-dev")); err != nil {
			return fmt.Errorf("connect to %s: %w", natsURL, err)
		}
	}
	defer client.Close()

	validator, err := validation.New()
	if err != nil {
		return err
	}
	d := &devServer{opts: o, out: out, log: log, validator: validator, client: client}
	d.server = ingress.NewServer(ingress.Options{Publisher: client, Logger: log})
	if err := d.reload(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s (--listen picks another address): %w", o.listen, err)
	}
	metrics := ""
	mln, err := listenMetrics(o.metricsListen)
	if err != nil {
		_ = ln.Close()
		return err
	}
	if mln != nil {
		metrics = ", metrics at http://" + mln.Addr().String() + "/metrics"
		go func() {
			if err := d.server.ServeMetrics(ctx, mln); err != nil {
				fmt.Fprintln(out, "metrics server stopped:", err)
			}
		}()
	}
	fmt.Fprintf(out, "\ninlet dev is up in %s: NATS JetStream at %s, ingress at http://%s%s\n", time.Since(start).Round(time.Millisecond), natsURL, ln.Addr(), metrics)
	d.printEndpoints(ln.Addr().String())
	fmt.Fprintf(out, "\ntry:\n  inlet send --source-environment stripe-production --sample customer.subscription.created\n  inlet events stripe-production\n  inlet actions stripe-production\n\nwatching %s for changes; Ctrl-C stops.\n", o.dir)

	go d.watch(ctx)
	err = d.server.ServeListener(ctx, ln, 10*time.Second)
	fmt.Fprintln(out, "stopped")
	return err
}

// devServer holds the running pieces of `inlet dev`.
type devServer struct {
	opts      *devOptions
	out       io.Writer
	log       logr.Logger
	validator *validation.Validator
	client    *jetstream.Client
	server    *ingress.Server
	mu        sync.Mutex
}

// reload reads, validates and compiles the folder, ensures the streams and swaps the
// new snapshot in. A bad manifest is reported with its file and field and left out.
func (d *devServer) reload(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	in, where, bad, err := loadManifests(d.validator, d.opts.namespace, d.opts.dir)
	if err != nil {
		return err
	}
	for _, msg := range bad {
		fmt.Fprintln(d.out, "  refused", msg)
	}
	tokens, err := endpointTokens(filepath.Join(d.opts.data, "endpoint-tokens.json"), in)
	if err != nil {
		return err
	}
	in.Secrets = append(in.Secrets, tokens...)
	snap := config.Build(in)
	for _, p := range snap.Problems {
		fmt.Fprintln(d.out, "  not served:", where.problem(in, p))
	}
	needs := snap.Streams()
	for name, window := range needs.ActionStreams {
		if _, err := jetstream.EnsureStream(ctx, d.client.JetStream(), jetstream.ActionStreamConfig(name, window, 1, natsjs.FileStorage)); err != nil {
			return fmt.Errorf("action stream %s: %w", name, err)
		}
	}
	for name, retention := range needs.LogStreams {
		if _, err := jetstream.EnsureStream(ctx, d.client.JetStream(), jetstream.LogStreamConfig(name, retention, 1, natsjs.FileStorage)); err != nil {
			return fmt.Errorf("log stream %s: %w", name, err)
		}
	}
	d.server.SetSnapshot(snap)
	mappings := 0
	for _, e := range snap.Environments() {
		mappings += e.MappingCount()
	}
	fmt.Fprintf(d.out, "loaded %s: %d source environments, %d mappings, %d not served\n", d.opts.dir, len(snap.Environments()), mappings, len(snap.Problems)+len(bad))
	return nil
}

func (d *devServer) printEndpoints(addr string) {
	snap := d.server.Snapshot()
	fmt.Fprintln(d.out, "\nendpoints:")
	for _, e := range snap.Environments() {
		path := fmt.Sprintf("http://%s/e/%s/%s", addr, e.Key.Namespace, e.Key.Name)
		if e.UsesEndpointToken {
			path += "/{token}   (token in " + filepath.Join(d.opts.data, "endpoint-tokens.json") + ")"
		}
		fmt.Fprintf(d.out, "  %-22s %-10s %s  %d mappings\n", e.Key.Name, e.SourceType, path, e.MappingCount())
	}
}

// watch reloads the folder shortly after a file in it changes.
func (d *devServer) watch(ctx context.Context) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		fmt.Fprintln(d.out, "cannot watch for changes:", err)
		return
	}
	defer w.Close()
	if err := w.Add(d.opts.dir); err != nil {
		fmt.Fprintln(d.out, "cannot watch for changes:", err)
		return
	}
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-w.Events:
			if ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Remove|fsnotify.Rename) != 0 {
				timer = time.After(150 * time.Millisecond)
			}
		case err := <-w.Errors:
			fmt.Fprintln(d.out, "watch:", err)
		case <-timer:
			timer = nil
			if err := d.reload(ctx); err != nil {
				fmt.Fprintln(d.out, "reload failed, still serving the previous configuration:", err)
			}
		}
	}
}

// loadInputs reads the manifests in dir and validates each with the CRDs' schemas. It
// returns what is valid and a message for each refused object.
func loadInputs(v *validation.Validator, namespace string, paths ...string) (config.Inputs, []string, error) {
	in, _, bad, err := loadManifests(v, namespace, paths...)
	return in, bad, err
}

// loadManifests is loadInputs that also says where each object was read, so that a
// problem found when compiling (a CEL error) names its file as a schema error does.
func loadManifests(v *validation.Validator, namespace string, paths ...string) (config.Inputs, origins, []string, error) {
	objs, err := manifests.LoadPaths(paths...)
	var bad []string
	if err != nil {
		var pathErr *os.PathError
		if errors.As(err, &pathErr) && len(objs) == 0 {
			return config.Inputs{}, nil, nil, err
		}
		bad = append(bad, err.Error())
	}
	var in config.Inputs
	where := origins{}
	for _, o := range objs {
		if o.GetNamespace() == "" {
			o.SetNamespace(namespace)
		}
		if v != nil {
			if errs := v.Validate(o.Unstructured); len(errs) > 0 {
				bad = append(bad, fmt.Sprintf("%s: %v", o.Origin(), errs.ToAggregate()))
				continue
			}
		}
		if _, err := in.Add(o.Unstructured); err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", o.Origin(), err))
			continue
		}
		where[originKey{o.GetKind(), types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}}] = o.Origin()
	}
	return in, where, bad, nil
}

// origins says where each loaded object was read: "dir/m.yaml#0 (EventMapping m)".
type origins map[originKey]string

type originKey struct {
	kind string
	key  types.NamespacedName
}

// problem formats a problem of the compiled configuration the way schema errors are
// formatted: where the object was read, then what is wrong. An expression of a Source
// that does not compile is reported on its SourceEnvironments; it names the Source's
// file, where the expression is.
func (o origins) problem(in config.Inputs, p config.Problem) string {
	where := o.of(p.Kind, p.Object)
	if p.Kind == "SourceEnvironment" && p.Reason == v1alpha1.ReasonInvalidExpression {
		if se := findSourceEnvironment(in, p.Object.Namespace, p.Object.Name); se != nil {
			src := types.NamespacedName{Namespace: se.Namespace, Name: se.Spec.SourceRef.Name}
			if file, ok := o[originKey{"Source", src}]; ok {
				where = fmt.Sprintf("%s, for %s", file, where)
			}
		}
	}
	return fmt.Sprintf("%s: %s: %s", where, p.Reason, p.Message)
}

// of names an object by where it was read, or by kind and name when that is unknown.
func (o origins) of(kind string, key types.NamespacedName) string {
	if file, ok := o[originKey{kind, key}]; ok {
		return file
	}
	return fmt.Sprintf("%s %s", kind, key)
}

// endpointTokens returns, as Secrets, an endpoint token for each SourceEnvironment whose
// Source signs nothing, generating and saving (0600) the ones not yet in file; with no
// file, the tokens are generated and not kept.
func endpointTokens(file string, in config.Inputs) ([]corev1.Secret, error) {
	tokens := map[string]string{}
	if data, err := os.ReadFile(file); file != "" && err == nil {
		if err := json.Unmarshal(data, &tokens); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	sources := map[string]*v1alpha1.Source{}
	for i := range in.Sources {
		sources[in.Sources[i].Namespace+"/"+in.Sources[i].Name] = &in.Sources[i]
	}
	changed := false
	var secrets []corev1.Secret
	for _, se := range in.SourceEnvironments {
		src := sources[se.Namespace+"/"+se.Spec.SourceRef.Name]
		if src == nil || !provider.UsesEndpointToken(&src.Spec) {
			continue
		}
		key := se.Namespace + "/" + se.Name
		if tokens[key] == "" {
			tokens[key] = NewEndpointToken()
			changed = true
		}
		secrets = append(secrets, corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: se.Namespace, Name: config.EndpointTokenSecretName(se.Name)},
			Data:       map[string][]byte{config.EndpointTokenKey: []byte(tokens[key])},
		})
	}
	if changed && file != "" {
		data, _ := json.MarshalIndent(tokens, "", "  ")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(secrets, func(a, b corev1.Secret) int { return cmp.Compare(a.Name, b.Name) })
	return secrets, nil
}

// NewEndpointToken returns an unguessable endpoint token: 256 random bits, base64url.
func NewEndpointToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
