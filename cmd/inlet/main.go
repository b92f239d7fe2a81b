// Command inlet is the one binary of inlet: the operator, the ingress, the local run and
// the CLI for people. `inlet --help` lists the commands.
package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "inlet:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "inlet",
		Short: "Events from your product's other tools, verified, mapped with CEL and published to NATS JetStream",
		Long: `inlet receives webhooks from Stripe, Clerk, WorkOS, Segment and any HTTP sender,
verifies them, maps them to actions with CEL, and publishes the actions to NATS
JetStream exactly once. Sources, SourceEnvironments and EventMappings are Kubernetes
resources.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newClusterCommand(), newDevCommand(), newSendCommand(), newTestCommand(), newIngressCommand(), newOperatorCommand())
	root.AddCommand(newLogCommands()...)
	root.AddCommand(newReplayCommand())
	return root
}

// newLogger returns the structured logger every command uses: JSON lines, or
// human-readable lines with debug detail when verbose. Error records carry no stack
// trace unless verbose: they say what is wrong, for the person reading the pod's log.
func newLogger(verbose bool) logr.Logger {
	if verbose {
		return zap.New(zap.UseDevMode(true), zap.Level(zapcore.DebugLevel))
	}
	return zap.New(zap.Level(zapcore.InfoLevel), zap.StacktraceLevel(zapcore.PanicLevel))
}

// newInteractiveLogger is the logger of commands a person runs in a terminal (inlet
// cluster): human-readable, and only warnings and errors unless verbose, so that what
// the command prints itself stays readable.
func newInteractiveLogger(verbose bool) logr.Logger {
	if verbose {
		return zap.New(zap.UseDevMode(true), zap.Level(zapcore.DebugLevel))
	}
	return zap.New(zap.ConsoleEncoder(), zap.Level(zapcore.WarnLevel), zap.StacktraceLevel(zapcore.PanicLevel))
}

// useLogger makes log controller-runtime's logger, so that a long-running command
// writes one stream of structured records.
func useLogger(log logr.Logger) {
	ctrl.SetLogger(log)
}

// restConfig returns the API server configuration: the kubeconfig file when given,
// otherwise KUBECONFIG, the in-cluster service account or ~/.kube/config, in that
// order (controller-runtime's rules).
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("read kubeconfig %s: %w", kubeconfig, err)
		}
		return cfg, nil
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("find the API server (set --kubeconfig or KUBECONFIG): %w", err)
	}
	return cfg, nil
}

// redactURL removes the user information from a URL, for logs and messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}

// listenMetrics opens the --metrics-listen address; none (nil) when it is "" or "0",
// which turn metrics off.
func listenMetrics(addr string) (net.Listener, error) {
	if addr == "" || addr == "0" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for metrics (--metrics-listen picks another address, 0 turns metrics off): %w", addr, err)
	}
	return ln, nil
}
