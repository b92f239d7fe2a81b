// Command inlet-ingress is the binary the operator's ingress pods run: `inlet ingress`
// alone, with the same flags, without the operator, the logs API server and the CLI,
// so that an ingress pod loads and keeps only what serving events needs.
// `inlet-ingress --help` lists the flags.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"inlet.dev/inlet/internal/ingresscmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := ingresscmd.NewCommand("inlet-ingress")
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "inlet-ingress:", err)
		os.Exit(1)
	}
}
