// Command inlet is the operator, the local run and the CLI for people; it serves the
// ingress too (`inlet ingress`), though the operator's ingress pods run the smaller
// inlet-ingress binary (cmd/inlet-ingress). `inlet --help` lists the commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"inlet.dev/inlet/internal/ingresscmd"
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
	root.AddCommand(newClusterCommand(), newDevCommand(), newSendCommand(), newTestCommand(),
		ingresscmd.NewCommand("inlet ingress"), newOperatorCommand())
	root.AddCommand(newLogCommands()...)
	root.AddCommand(newReplayCommand())
	return root
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
