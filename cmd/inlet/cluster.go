package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"inlet.dev/inlet/api/manifests"
	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/config/crd"
	"inlet.dev/inlet/controllers"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/live"
	"inlet.dev/inlet/ingress/local"
	"inlet.dev/inlet/ingress/watch"
	"inlet.dev/inlet/internal/ingresscmd"
	"inlet.dev/inlet/internal/localcluster"
	"inlet.dev/inlet/internal/logsapi"
	"inlet.dev/inlet/internal/scheme"
)

// clusterStatsInterval is how often the in-process operator refreshes status counters.
const clusterStatsInterval = 10 * time.Second

type clusterOptions struct {
	controlPlaneDir string
	crdDir          string
	samples         []string
	kubeconfigOut   string
	useKubeconfig   bool
	kubeconfig      string
	namespace       string
	listen          string
	metricsListen   string
	natsListen      string
	data            string
	endpointBaseURL string
	logsAPIListen   string
	verbose         bool
}

func newClusterCommand() *cobra.Command {
	o := clusterOptions{}
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Run the operator path on this machine: a control plane, NATS, the operator and the ingress",
		Long: `cluster runs inlet as it runs in Kubernetes, on one machine. It starts a real etcd and
kube-apiserver (built from Go modules by hack/build-control-plane.sh) or, with
--use-kubeconfig, uses the cluster your kubeconfig points at; installs inlet's CRDs;
starts an embedded NATS server with JetStream; runs the operator in this process; and
serves every SourceEnvironment's endpoint in this process too, configured live from the
API server. It applies the manifests given with --samples and writes a kubeconfig for
kubectl. Ctrl-C stops everything. With --use-kubeconfig, make sure no inlet operator
is deployed in that cluster: two operators would fight over the same resources.`,
		Example: `  inlet cluster
  kubectl --kubeconfig .inlet/kubeconfig get inlet
  inlet send --source-environment stripe-production --sample customer.subscription.created
  inlet cluster --use-kubeconfig --samples ''     # against the cluster in KUBECONFIG`,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context(), cmd.OutOrStdout()) },
	}
	cache, _ := os.UserCacheDir()
	f := cmd.Flags()
	f.StringVar(&o.controlPlaneDir, "control-plane-dir",
		ingresscmd.EnvOr("KUBEBUILDER_ASSETS", filepath.Join(cache, "inlet", "control-plane-v1.37.2")),
		"folder holding the etcd and kube-apiserver binaries")
	f.StringVar(&o.crdDir, "crds", "", "folder holding inlet's CRDs; those built into this binary when empty")
	f.StringSliceVar(&o.samples, "samples", []string{"config/samples"},
		"manifest files or folders to apply once the control plane is up ('' for none)")
	f.StringVar(&o.kubeconfigOut, "kubeconfig-out", ".inlet/kubeconfig", "where to write the kubeconfig for kubectl")
	f.BoolVar(&o.useKubeconfig, "use-kubeconfig", false,
		"use the cluster of --kubeconfig (or KUBECONFIG, ~/.kube/config) instead of starting a control plane")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to use with --use-kubeconfig")
	f.StringVar(&o.namespace, "namespace", "default", "namespace the samples are applied in")
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address the ingress listens on")
	f.StringVar(&o.metricsListen, "metrics-listen", "127.0.0.1:9090", "address the ingress serves /metrics on; 0 turns metrics off")
	f.StringVar(&o.natsListen, "nats-listen", "127.0.0.1:4222", "address the embedded NATS server listens on")
	f.StringVar(&o.data, "data", ".inlet/cluster", "folder for NATS storage and the endpoint tokens file, kept between runs")
	f.StringVar(&o.endpointBaseURL, "endpoint-base-url", "", "base URL reported in SourceEnvironments' status (default http://<--listen>)")
	f.StringVar(&o.logsAPIListen, "logs-api-listen", "127.0.0.1:0",
		"address of the logs.inlet.dev API (kubectl get sourceevents), registered with the local control plane; "+
			"a free port by default, '' turns it off")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log in human-readable form, with debug detail")
	return cmd
}

func (o *clusterOptions) run(ctx context.Context, out io.Writer) error {
	start := time.Now()
	log := newInteractiveLogger(o.verbose)
	ingresscmd.UseLogger(log)
	cfg, stopControlPlane, err := o.controlPlane(ctx, out)
	if err != nil {
		return err
	}
	defer stopControlPlane()
	nc, natsURL, stopNATS, err := startEmbeddedNATS(ctx, o.natsListen, o.data, "inlet-cluster", "inlet-cluster ingress")
	if err != nil {
		return err
	}
	defer stopNATS()
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s (is inlet dev or another inlet cluster running? --listen picks another address): %w", o.listen, err)
	}
	mgr, err := newInProcessOperator(cfg, controllers.Options{
		NATSURL:         natsURL,
		EndpointBaseURL: o.baseURL(ln),
		ResyncInterval:  clusterStatsInterval,
	})
	if err != nil {
		_ = ln.Close()
		return err
	}
	if err := o.addLogsAPI(mgr, cfg, natsURL, log); err != nil {
		_ = ln.Close()
		return err
	}
	metrics, err := ingresscmd.ListenMetrics(o.metricsListen)
	if err != nil {
		_ = ln.Close()
		return err
	}
	ingressLog := log.WithName("ingress")
	li := live.New(live.Options{NATS: nc, Instance: "local", Metrics: metrics, Drain: 5 * time.Second,
		AfterApply: o.saveEndpointTokens(log), Logger: ingressLog})
	w, err := watch.New(cfg, watch.Options{Logger: ingressLog.WithName("watch")}, li.Apply)
	if err != nil {
		_ = ln.Close()
		if metrics != nil {
			_ = metrics.Close()
		}
		return err
	}
	ingress := func(ctx context.Context) error { return li.Run(ctx, w.Run, ln) }
	return o.serve(ctx, out, cfg, mgr.Start, ingress, ln.Addr().String(), natsURL, start)
}

// serve runs the operator and the ingress (listening on addr) until ctx is done or
// one of them fails, and applies the samples once both are started.
func (o *clusterOptions) serve(ctx context.Context, out io.Writer, cfg *rest.Config, operator, ingress func(context.Context) error,
	addr, natsURL string, start time.Time) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- wrapErr("operator", operator(runCtx)) }()
	go func() { errc <- wrapErr("ingress", ingress(runCtx)) }()
	if err := o.applySamples(ctx, cfg, out); err != nil {
		fmt.Fprintln(out, err)
	}
	o.printTry(out, addr, natsURL, time.Since(start))
	var err error
	pending := cap(errc)
	select {
	case <-ctx.Done():
	case err = <-errc:
		pending--
	}
	cancel()
	for ; pending > 0; pending-- {
		err = errors.Join(err, <-errc)
	}
	fmt.Fprintln(out, "stopped")
	return err
}

// controlPlane starts etcd and kube-apiserver and writes the kubeconfig, or with
// --use-kubeconfig connects to the configured cluster; either way it installs the CRDs.
// The returned function stops what was started.
func (o *clusterOptions) controlPlane(ctx context.Context, out io.Writer) (*rest.Config, func(), error) {
	if o.useKubeconfig {
		cfg, err := ingresscmd.RestConfig(o.kubeconfig)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(out, "using the cluster at %s\n", cfg.Host)
		if err := o.installCRDs(ctx, cfg, out); err != nil {
			return nil, nil, err
		}
		return cfg, func() {}, nil
	}
	fmt.Fprintf(out, "starting etcd and kube-apiserver from %s ...\n", o.controlPlaneDir)
	cp := &localcluster.ControlPlane{BinDir: o.controlPlaneDir, Dir: filepath.Join(o.data, "control-plane")}
	if err := cp.Start(ctx); err != nil {
		return nil, nil, fmt.Errorf("start control plane (logs in %s): %w", cp.LogDir(), err)
	}
	stop := func() {
		fmt.Fprintln(out, "stopping the control plane")
		cp.Stop()
	}
	cfg := cp.Admin()
	if err := localcluster.WriteKubeconfig(cfg, o.kubeconfigOut, "inlet-cluster"); err != nil {
		stop()
		return nil, nil, fmt.Errorf("write kubeconfig: %w", err)
	}
	if err := o.installCRDs(ctx, cfg, out); err != nil {
		stop()
		return nil, nil, err
	}
	return cfg, stop, nil
}

// installCRDs creates or updates inlet's CRDs (--crds, or those built into this binary)
// and waits until the API server serves them.
func (o *clusterOptions) installCRDs(ctx context.Context, cfg *rest.Config, out io.Writer) error {
	crds, err := crd.CustomResourceDefinitions()
	from := "this binary"
	if o.crdDir != "" {
		crds, err = crd.FromDirectory(o.crdDir)
		from = o.crdDir
	}
	if err != nil {
		return fmt.Errorf("read CRDs: %w", err)
	}
	fmt.Fprintf(out, "installing inlet's CRDs from %s\n", from)
	if err := crd.Install(ctx, cfg, crds, time.Minute); err != nil {
		return fmt.Errorf("install CRDs: %w", err)
	}
	return nil
}

// baseURL is the endpoint base URL the operator reports: --endpoint-base-url, or the
// ingress's own address.
func (o *clusterOptions) baseURL(ln net.Listener) string {
	if o.endpointBaseURL != "" {
		return o.endpointBaseURL
	}
	return "http://" + ln.Addr().String()
}

// applySamples applies --samples, if any, in --namespace.
func (o *clusterOptions) applySamples(ctx context.Context, cfg *rest.Config, out io.Writer) error {
	var paths []string
	for _, p := range o.samples {
		if strings.TrimSpace(p) != "" {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return nil
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "applying %s in namespace %s\n", strings.Join(paths, ", "), o.namespace)
	return apply(ctx, c, o.namespace, paths)
}

// saveEndpointTokens returns a hook that writes the endpoint tokens of the served
// SourceEnvironments to <data>/endpoint-tokens.json (0600), the file `inlet send
// --data-dir` reads, so that sending to a token endpoint works as with inlet dev.
func (o *clusterOptions) saveEndpointTokens(log logr.Logger) func(*config.Snapshot) {
	file := filepath.Join(o.data, local.TokensFile)
	return func(snap *config.Snapshot) {
		if err := local.WriteTokens(file, local.SnapshotTokens(snap)); err != nil {
			log.Error(err, "save endpoint tokens", "file", file)
		}
	}
}

func (o *clusterOptions) printTry(out io.Writer, addr, natsURL string, took time.Duration) {
	kc := o.kubeconfigOut
	if o.useKubeconfig {
		kc = cmp.Or(o.kubeconfig, os.Getenv("KUBECONFIG"))
	}
	kubectl := "kubectl"
	if kc != "" {
		kubectl += " --kubeconfig " + kc
	}
	fmt.Fprintf(out, `
inlet cluster is up in %s: the operator, NATS JetStream at %s, the ingress at http://%s

try:
  %s get inlet
  inlet send --url http://%s --source-environment stripe-production --sample customer.subscription.created
  inlet events --nats-url %s stripe-production
  %s get sourceenvironment stripe-production -o yaml    # status counters rise within ~20s

Segment's endpoint carries a token the operator generated into a Secret:
  %s get secret segment-production-endpoint-token -o jsonpath='{.data.token}' | base64 -d
  inlet send --url http://%s --data-dir %s --source-environment segment-production --sample identify

Ctrl-C stops everything.
`, took.Round(time.Millisecond), natsURL, addr, kubectl, addr, natsURL, kubectl, kubectl, addr, o.data)
}

// apply creates or updates every object in the manifests, reporting each; an object the
// API server refuses is reported and does not stop the others.
func apply(ctx context.Context, c client.Client, namespace string, paths []string) error {
	objs, err := manifests.LoadPaths(paths...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	refused := 0
	for _, o := range objs {
		if o.GetNamespace() == "" {
			o.SetNamespace(namespace)
		}
		err := c.Create(ctx, o.Unstructured)
		if apierrors.IsAlreadyExists(err) {
			err = c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.Unstructured), client.FieldOwner("inlet"), client.ForceOwnership)
		}
		if err != nil {
			refused++
			fmt.Fprintf(os.Stderr, "  refused %s: %v\n", o.Origin(), err)
			continue
		}
		fmt.Printf("  applied %s/%s\n", o.GetKind(), o.GetName())
	}
	if refused > 0 {
		return fmt.Errorf("%d of %d objects were refused", refused, len(objs))
	}
	return nil
}

func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// addLogsAPI serves logs.inlet.dev from the operator, as in a cluster, registered with
// the local control plane through an ExternalName Service to localhost. With
// --use-kubeconfig the cluster's API server cannot reach this machine's localhost:
// `inlet events` and `inlet actions` read NATS there.
func (o *clusterOptions) addLogsAPI(mgr ctrl.Manager, cfg *rest.Config, natsURL string, log logr.Logger) error {
	if o.useKubeconfig || o.logsAPIListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", o.logsAPIListen)
	if err != nil {
		return fmt.Errorf("listen on %s for the logs API (--logs-api-listen picks another address): %w", o.logsAPIListen, err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		_ = ln.Close()
		return err
	}
	api := &logsAPI{
		opts: logsAPIOptions{stream: v1alpha1.DefaultLogStream}, kube: cfg, listener: ln, log: log.WithName("logs-api"),
		natsURL: func(context.Context) string { return natsURL },
		served: func(ctx context.Context, port int) error {
			// The certificate is made in memory for this run: the APIService skips
			// verifying it, acceptable for a server on the same machine.
			return logsapi.Register(ctx, c, logsapi.Registration{Namespace: "default", Service: "inlet-logs-api",
				Host: "localhost", Port: int32(port)})
		},
	}
	return mgr.Add(api)
}
