package ingresscmd

import (
	"fmt"
	"net"
	"net/url"
	"os"

	"github.com/go-logr/logr"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// NewLogger returns the structured logger every long-running command uses: JSON lines,
// or human-readable lines with debug detail when verbose. Error records carry no stack
// trace unless verbose: they say what is wrong, for the person reading the pod's log.
func NewLogger(verbose bool) logr.Logger {
	if verbose {
		return zap.New(zap.UseDevMode(true), zap.Level(zapcore.DebugLevel))
	}
	return zap.New(zap.Level(zapcore.InfoLevel), zap.StacktraceLevel(zapcore.PanicLevel))
}

// UseLogger makes log controller-runtime's logger, so that a long-running command
// writes one stream of structured records.
func UseLogger(log logr.Logger) {
	ctrllog.SetLogger(log)
}

// RestConfig returns the API server configuration: the kubeconfig file when given,
// otherwise KUBECONFIG, the in-cluster service account or ~/.kube/config, in that
// order (controller-runtime's rules).
func RestConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("read kubeconfig %s: %w", kubeconfig, err)
		}
		return cfg, nil
	}
	cfg, err := config.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("find the API server (set --kubeconfig or KUBECONFIG): %w", err)
	}
	return cfg, nil
}

// RedactURL removes the user information from a URL, for logs and messages.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}

// ListenMetrics opens the --metrics-listen address; none (nil) when it is "" or "0",
// which turn metrics off.
func ListenMetrics(addr string) (net.Listener, error) {
	if addr == "" || addr == "0" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for metrics (--metrics-listen picks another address, 0 turns metrics off): %w", addr, err)
	}
	return ln, nil
}

// CheckPartitions checks --action-partitions as the CRD checks spec.publish.partitions.
func CheckPartitions(n int32) error {
	if n < 1 || n > 64 {
		return fmt.Errorf("--action-partitions %d: must be between 1 and 64", n)
	}
	return nil
}

// EnvOr returns the environment variable name, or fallback when it is unset or empty.
func EnvOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
