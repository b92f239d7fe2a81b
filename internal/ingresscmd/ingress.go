// Package ingresscmd is the ingress command, which both binaries serve: inlet-ingress,
// the small binary the operator's ingress pods run, and `inlet ingress`. It holds the
// helpers inlet's long-running commands share as well (the logger, the API server
// configuration, the metrics listener). It links no part of the operator, so that the
// ingress binary stays small.
package ingresscmd

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	discoveryclient "k8s.io/client-go/kubernetes/typed/discovery/v1"

	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/live"
	"inlet.dev/inlet/ingress/watch"
)

// NATSOutageMessage is what the ingress logs, at error level, while NATS cannot be
// reached: at the first failed attempt, then every 30s.
const NATSOutageMessage = "cannot reach NATS; answering events 503 until it is back"

// options are the ingress command's flags.
type options struct {
	namespace         string
	sourceEnvironment string
	listen            string
	metricsListen     string
	natsURL           string
	natsCreds         string
	partitions        int32
	kubeconfig        string
	instance          string
	drain             time.Duration
	shutdownDelay     time.Duration
	peersService      string
	podIP             string
	verbose           bool
}

// NewCommand returns the ingress command. invocation is how a person runs it, as the
// help's examples spell it: "inlet ingress" for the subcommand of inlet, "inlet-ingress"
// for the binary of its own; the command's name is its last word.
func NewCommand(invocation string) *cobra.Command {
	o := options{}
	name := invocation[strings.LastIndex(invocation, " ")+1:]
	cmd := &cobra.Command{
		Use:   name,
		Short: "Serve SourceEnvironments' endpoints, configured live from the API server",
		Long: invocation + ` is the ingress, which the operator runs in each ingress pod (as the
inlet-ingress binary of its image). It watches the Sources, SourceEnvironments and
EventMappings of a namespace (and the Secrets they name) through the API server,
compiles them whenever they change, and serves the endpoints with /healthz and /readyz
on --listen, the port senders reach. Prometheus metrics are on another port,
--metrics-listen, at /metrics, so that they are not exposed with the endpoints. It
starts while NATS is unreachable and reports not ready (/readyz says why) until NATS
and the configuration are both there; while NATS cannot be reached it logs so at error
level, at once and every 30s, and answers events 503. On SIGTERM it keeps serving for
--shutdown-delay while the pod leaves the Service, then stops accepting, answers the
requests in flight and flushes its logs.`,
		Example: `  ` + invocation + ` --namespace default --source-environment stripe-production --nats-url nats://nats.nats:4222
  ` + invocation + ` --kubeconfig .inlet/kubeconfig --namespace default --listen 127.0.0.1:8080 --metrics-listen 127.0.0.1:9090`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context()) },
	}
	host, _ := os.Hostname()
	f := cmd.Flags()
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace whose resources are served (required)")
	f.StringVar(&o.sourceEnvironment, "source-environment", "", "serve only this SourceEnvironment; all of the namespace when empty")
	f.StringVar(&o.peersService, "peers-service", "",
		"the Service in --namespace whose other pods are this one's peers: while NATS is unreachable, "+
			"/readyz fails only if a peer reaches it (port named http)")
	f.StringVar(&o.podIP, "pod-ip", os.Getenv("POD_IP"), "this pod's IP, left out of --peers-service's pods")
	f.StringVar(&o.listen, "listen", ":8080", "address for events, /healthz and /readyz")
	f.StringVar(&o.metricsListen, "metrics-listen", ":9090", "address for /metrics; 0 or empty turns metrics off")
	f.StringVar(&o.natsURL, "nats-url", "nats://127.0.0.1:4222", "the NATS server to publish to")
	f.StringVar(&o.natsCreds, "nats-creds", "", "NATS credentials file")
	f.Int32Var(&o.partitions, "action-partitions", 1,
		"streams the actions of a SourceEnvironment that sets no spec.publish.partitions are split into (the operator's --action-partitions)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file; KUBECONFIG, the in-cluster service account or ~/.kube/config when empty")
	f.StringVar(&o.instance, "instance", EnvOr("POD_NAME", host), "this instance's name in the stats bucket")
	f.DurationVar(&o.drain, "drain", 10*time.Second, "longest wait for requests in flight at shutdown")
	f.DurationVar(&o.shutdownDelay, "shutdown-delay", 5*time.Second,
		"time to keep serving after SIGTERM, while the pod is removed from the Service's endpoints")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log in human-readable form, with debug detail")
	_ = cmd.MarkFlagRequired("namespace")
	return cmd
}

func (o *options) run(ctx context.Context) error {
	if err := CheckPartitions(o.partitions); err != nil {
		return err
	}
	ingress.TuneRuntime()
	log := NewLogger(o.verbose).WithValues("instance", o.instance)
	UseLogger(log)
	cfg, err := RestConfig(o.kubeconfig)
	if err != nil {
		return err
	}
	opts := []jetstream.Option{
		jetstream.WithName("inlet-ingress " + o.instance),
		jetstream.WithBackgroundConnect(),
		jetstream.WithLogger(slog.New(logr.ToSlogHandler(log.WithName("nats")))),
		jetstream.WithOutageMessage(NATSOutageMessage),
		// The event log on a connection of its own, so that its writes never hold up
		// the actions'.
		jetstream.WithBulkConnection(),
	}
	if o.natsCreds != "" {
		opts = append(opts, jetstream.WithCredentialsFile(o.natsCreds))
	}
	nc, err := jetstream.Connect(ctx, o.natsURL, opts...)
	if err != nil {
		return err
	}
	defer nc.Close()
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	metrics, err := ListenMetrics(o.metricsListen)
	if err != nil {
		_ = ln.Close()
		return err
	}
	metricsAddr := "off"
	if metrics != nil {
		metricsAddr = metrics.Addr().String()
	}
	lopts := live.Options{NATS: nc, Instance: o.instance, Metrics: metrics, ShutdownDelay: o.shutdownDelay, Drain: o.drain, Logger: log}
	if o.peersService != "" {
		dc, err := discoveryclient.NewForConfig(cfg)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("peers: %w", err)
		}
		lopts.PeersReachNATS = ingress.PeerChecker(live.ServicePeers(dc, o.namespace, o.peersService, "http", o.podIP))
	}
	li := live.New(lopts)
	wopts := watch.Options{
		Namespace: o.namespace, SourceEnvironment: o.sourceEnvironment, Partitions: o.partitions, Logger: log.WithName("watch"),
	}
	w, err := watch.New(cfg, wopts, li.Apply)
	if err != nil {
		_ = ln.Close()
		if metrics != nil {
			_ = metrics.Close()
		}
		return err
	}
	log.Info("ingress starting", "listen", ln.Addr().String(), "metrics", metricsAddr, "namespace", o.namespace,
		"sourceEnvironment", o.sourceEnvironment, "nats", RedactURL(o.natsURL))
	return li.Run(ctx, w.Run, ln)
}
