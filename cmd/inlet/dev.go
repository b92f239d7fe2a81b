package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"inlet.dev/inlet/api/validation"
	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/live"
	"inlet.dev/inlet/ingress/local"
	"inlet.dev/inlet/internal/ingresscmd"
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
	log := ingresscmd.NewLogger(o.verbose)
	if err := os.MkdirAll(o.data, 0o700); err != nil {
		return err
	}
	natsURL := o.natsURL
	var nc *jetstream.Client
	if natsURL == "" {
		var stopNATS func()
		var err error
		if nc, natsURL, stopNATS, err = startEmbeddedNATS(ctx, o.natsListen, o.data, "inlet-dev", "inlet-dev"); err != nil {
			return err
		}
		defer stopNATS()
	} else {
		var err error
		if nc, err = jetstream.Connect(ctx, natsURL, jetstream.WithName("inlet-dev")); err != nil {
			return fmt.Errorf("connect to %s: %w", natsURL, err)
		}
		defer nc.Close()
	}

	validator, err := validation.New()
	if err != nil {
		return err
	}
	metrics, err := ingresscmd.ListenMetrics(o.metricsListen)
	if err != nil {
		return err
	}
	li := live.New(live.Options{NATS: nc, Metrics: metrics, Drain: 10 * time.Second, Logger: log})
	tokens := filepath.Join(o.data, local.TokensFile)
	folder := local.NewFolder(local.Options{Dir: o.dir, Namespace: o.namespace, TokensFile: tokens,
		Validator: validator, JetStream: nc.JetStream(), Apply: li.Apply, Out: out})
	if err := folder.Reload(ctx); err != nil {
		if metrics != nil {
			_ = metrics.Close()
		}
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		if metrics != nil {
			_ = metrics.Close()
		}
		return fmt.Errorf("listen on %s (--listen picks another address): %w", o.listen, err)
	}
	metricsAt := ""
	if metrics != nil {
		metricsAt = ", metrics at http://" + metrics.Addr().String() + "/metrics"
	}
	fmt.Fprintf(out, "\ninlet dev is up in %s: NATS JetStream at %s, ingress at http://%s%s\n",
		time.Since(start).Round(time.Millisecond), natsURL, ln.Addr(), metricsAt)
	printEndpoints(out, li.Server().Snapshot(), ln.Addr().String(), tokens)
	fmt.Fprintf(out, "\ntry:\n"+
		"  inlet send --source-environment stripe-production --sample customer.subscription.created\n"+
		"  inlet events stripe-production\n"+
		"  inlet actions stripe-production\n"+
		"\nwatching %s for changes; Ctrl-C stops.\n", o.dir)

	err = li.Run(ctx, folder.Watch, ln)
	fmt.Fprintln(out, "stopped")
	return err
}

// printEndpoints lists where each served SourceEnvironment receives events.
func printEndpoints(out io.Writer, snap *config.Snapshot, addr, tokensFile string) {
	fmt.Fprintln(out, "\nendpoints:")
	for _, e := range snap.Environments() {
		path := fmt.Sprintf("http://%s/e/%s/%s", addr, e.Key.Namespace, e.Key.Name)
		if e.UsesEndpointToken {
			path += "/{token}   (token in " + tokensFile + ")"
		}
		fmt.Fprintf(out, "  %-22s %-10s %s  %d mappings\n", e.Key.Name, e.SourceType, path, e.MappingCount())
	}
}
