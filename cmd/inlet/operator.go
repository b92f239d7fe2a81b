package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/controllers"
	"inlet.dev/inlet/internal/ingresscmd"
	"inlet.dev/inlet/internal/metricsauth"
	"inlet.dev/inlet/internal/scheme"
)

// leaderElectionID is the Lease the operator's replicas compete for.
const leaderElectionID = "inlet-operator.inlet.dev"

type operatorOptions struct {
	metricsAddr             string
	secureMetrics           bool
	enableHTTP2             bool
	probeAddr               string
	leaderElect             bool
	leaderElectionNamespace string
	kubeconfig              string
	configMap               string
	configMapNamespace      string
	controllers             controllers.Options
	streams                 streamFlags
	logsAPI                 logsAPIOptions
	verbose                 bool
}

// streamFlags are the operator-wide stream settings, as typed.
type streamFlags struct {
	replicas         int32
	storage          string
	placementCluster string
	placementTags    []string
	logMaxBytes      string
	partitions       int32
}

// defaults parses the flags into the controllers' stream defaults.
func (f streamFlags) defaults() (controllers.StreamDefaults, error) {
	d := controllers.StreamDefaults{Replicas: f.replicas, Partitions: f.partitions}
	if f.replicas < 1 || f.replicas > 5 {
		return d, fmt.Errorf("--stream-replicas %d: must be between 1 and 5", f.replicas)
	}
	if err := ingresscmd.CheckPartitions(f.partitions); err != nil {
		return d, err
	}
	switch {
	case strings.EqualFold(f.storage, string(v1alpha1.StreamStorageFile)):
		d.Storage = v1alpha1.StreamStorageFile
	case strings.EqualFold(f.storage, string(v1alpha1.StreamStorageMemory)):
		d.Storage = v1alpha1.StreamStorageMemory
	default:
		return d, fmt.Errorf("--stream-storage %q: must be File or Memory", f.storage)
	}
	if f.placementCluster != "" || len(f.placementTags) > 0 {
		d.Placement = &v1alpha1.StreamPlacement{Cluster: f.placementCluster, Tags: f.placementTags}
	}
	q, err := resource.ParseQuantity(f.logMaxBytes)
	if err != nil || q.Value() <= 0 {
		return d, fmt.Errorf("--log-stream-max-bytes %q: must be a positive quantity such as 1Gi", f.logMaxBytes)
	}
	d.LogMaxBytes = q.Value()
	return d, nil
}

func newOperatorCommand() *cobra.Command {
	o := operatorOptions{}
	cmd := &cobra.Command{
		Use:   "operator",
		Short: "Run the operator: reconcile SourceEnvironments into ingresses, streams and status",
		Long: `operator runs inlet's controllers. It turns each SourceEnvironment into an ingress
Deployment with its Service, ServiceAccount, Role and PodDisruptionBudget, creates the
JetStream streams it publishes to, compiles EventMappings to report their status, and
keeps every resource's status and counters up to date. Several replicas may run; with
--leader-elect one of them works at a time.

The NATS server of SourceEnvironments that name none is NATS_URL in the ConfigMap
--config-map of the namespace --config-map-namespace (the operator's own, from
POD_NAMESPACE, in a cluster), or --nats-url when there is no such ConfigMap. The
ConfigMap is watched: edit it and every SourceEnvironment moves to the new server, its
ingress pods rolling, without restarting the operator.`,
		Example: "  inlet operator --leader-elect --config-map inlet-config --config-map-namespace inlet-system\n" +
			"  inlet operator --kubeconfig .inlet/kubeconfig --metrics-bind-address 0 --nats-url nats://127.0.0.1:4222" +
			" --ingress-image ghcr.io/acme/inlet:v1",
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context()) },
	}
	f := cmd.Flags()
	f.StringVar(&o.metricsAddr, "metrics-bind-address", ":8443", "address of the metrics endpoint; 0 disables it")
	f.BoolVar(&o.secureMetrics, "metrics-secure", true,
		"serve metrics over HTTPS (self-signed), only to callers the API server authenticates and "+
			"authorizes for get on /metrics; plain HTTP to anyone when false")
	f.BoolVar(&o.enableHTTP2, "enable-http2", false, "allow HTTP/2 on the metrics server (off against HTTP/2 stream-reset attacks)")
	f.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	f.BoolVar(&o.leaderElect, "leader-elect", false, "elect a leader among the replicas, so that one reconciles at a time")
	f.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "",
		"namespace of the leader election Lease; the pod's own when empty (required outside a cluster)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file; KUBECONFIG, the in-cluster service account or ~/.kube/config when empty")
	f.StringVar(&o.configMap, "config-map", "inlet-config",
		"ConfigMap whose NATS_URL sets the NATS server of SourceEnvironments that name none, watched for changes; none when empty")
	f.StringVar(&o.configMapNamespace, "config-map-namespace", os.Getenv("POD_NAMESPACE"),
		"namespace of --config-map (default $POD_NAMESPACE); no ConfigMap is read when empty")
	f.StringVar(&o.controllers.NATSURL, "nats-url", "nats://nats.nats:4222",
		"NATS server of SourceEnvironments that name none, when --config-map is absent or sets no NATS_URL")
	f.StringVar(&o.controllers.NATSCredentialsFile, "nats-creds", "", "the operator's NATS credentials file")
	f.StringVar(&o.controllers.IngressImage, "ingress-image", ingresscmd.EnvOr("INLET_IMAGE", "inlet:dev"),
		"image of the ingress pods, which run its /inlet-ingress (default $INLET_IMAGE)")
	f.StringVar(&o.controllers.EndpointBaseURL, "endpoint-base-url", "",
		"public base URL of the ingresses, e.g. https://events.example.com; the in-cluster Service URL when empty")
	f.DurationVar(&o.controllers.ResyncInterval, "resync-interval", controllers.DefaultResyncInterval,
		"longest time between two refreshes of streams and status counters")
	f.Int64Var(&o.controllers.KeysBudget, "keys-budget", controllers.DefaultKeysBudget,
		"idempotency keys a SourceEnvironment's duplicate window may hold before IdempotencyWithinBudget turns False")
	f.Int32Var(&o.streams.replicas, "stream-replicas", 1,
		"replicas of the action and log streams of SourceEnvironments that set none (1-5; 3 on a "+
			"NATS cluster); streams found with more replicas keep them")
	f.StringVar(&o.streams.storage, "stream-storage", "File",
		"storage of the streams the operator creates for SourceEnvironments that set none: File or Memory; streams found keep theirs")
	f.StringVar(&o.streams.placementCluster, "stream-placement-cluster", "",
		"NATS cluster to place the streams of SourceEnvironments that set no placement in; none when empty")
	f.StringSliceVar(&o.streams.placementTags, "stream-placement-tags", nil,
		"server tags the servers holding the streams of SourceEnvironments that set no placement must have, comma-separated")
	f.StringVar(&o.streams.logMaxBytes, "log-stream-max-bytes", "1Gi",
		"size bound of the log streams of SourceEnvironments that set no spec.publish.logMaxBytes; the oldest records go first")
	f.Int32Var(&o.streams.partitions, "action-partitions", 1,
		"streams the actions of SourceEnvironments that set no spec.publish.partitions are split into (1-64), "+
			"to spread the duplicate window's memory over the servers of a NATS cluster")
	o.logsAPI.addFlags(f)
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log in human-readable form, with debug detail")
	return cmd
}

func (o *operatorOptions) run(ctx context.Context) error {
	streams, err := o.streams.defaults()
	if err != nil {
		return err
	}
	o.controllers.Streams = streams
	log := ingresscmd.NewLogger(o.verbose)
	ingresscmd.UseLogger(log)
	cfg, err := ingresscmd.RestConfig(o.kubeconfig)
	if err != nil {
		return err
	}
	if o.configMap != "" && o.configMapNamespace != "" {
		o.controllers.ConfigMap = types.NamespacedName{Namespace: o.configMapNamespace, Name: o.configMap}
	}
	mgr, err := ctrl.NewManager(cfg, o.managerOptions())
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	if err := controllers.SetupWithManager(mgr, o.controllers); err != nil {
		return err
	}
	if o.logsAPI.enabled() {
		err := mgr.Add(&logsAPI{opts: o.logsAPI, kube: cfg, log: log.WithName("logs-api"), creds: o.controllers.NATSCredentialsFile,
			natsURL: configMapNATSURL(mgr.GetAPIReader(), o.controllers.ConfigMap, o.controllers.NATSURL)})
		if err != nil {
			return fmt.Errorf("add logs API: %w", err)
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("add ready check: %w", err)
	}
	settings := "none: --config-map or --config-map-namespace is empty"
	if o.controllers.ConfigMap.Name != "" {
		settings = o.controllers.ConfigMap.String()
	}
	log.Info("operator starting", "configMap", settings, "defaultNATS", ingresscmd.RedactURL(o.controllers.NATSURL),
		"ingressImage", o.controllers.IngressImage, "leaderElection", o.leaderElect, "metrics", o.metricsAddr,
		"secureMetrics", o.secureMetrics, "streamReplicas", streams.Replicas, "streamStorage", streams.Storage,
		"logStreamMaxBytes", streams.LogMaxBytes, "logsAPI", o.logsAPI.bindAddress)
	return mgr.Start(ctx)
}

// managerOptions are the manager's: inlet's scheme, leader election, probes, and
// metrics served as kubebuilder's scaffold serves them.
func (o *operatorOptions) managerOptions() ctrl.Options {
	var tlsOpts []func(*tls.Config)
	if !o.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metrics := metricsserver.Options{
		BindAddress:   o.metricsAddr,
		SecureServing: o.secureMetrics,
		TLSOpts:       tlsOpts,
	}
	if o.secureMetrics {
		metrics.FilterProvider = metricsauth.Filter
	}
	return ctrl.Options{
		Scheme:                        scheme.New(),
		Metrics:                       metrics,
		HealthProbeBindAddress:        o.probeAddr,
		LeaderElection:                o.leaderElect,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       o.leaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		// Cache only the workloads inlet manages, not every Deployment in the cluster,
		// and of ConfigMaps only the operator's own.
		Cache: cache.Options{ByObject: controllers.CacheByObject(o.controllers)},
		// Within config/manager's terminationGracePeriodSeconds (10), so the Lease is
		// released before the kubelet kills the pod.
		GracefulShutdownTimeout: new(5 * time.Second),
	}
}

// newInProcessOperator returns a manager running the controllers for the local mode:
// no leader election, no metrics or probe endpoints, the ingress served in-process.
func newInProcessOperator(cfg *rest.Config, opts controllers.Options) (ctrl.Manager, error) {
	opts.InProcessIngress = true
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme.New(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	if err := controllers.SetupWithManager(mgr, opts); err != nil {
		return nil, err
	}
	return mgr, nil
}
