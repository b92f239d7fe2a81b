// Package testenv starts the real kube-apiserver and etcd that tests run against,
// through controller-runtime's envtest, with inlet's CRDs installed.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	inletv1alpha1 "inlet.dev/inlet/api/v1alpha1"
	inletscheme "inlet.dev/inlet/internal/scheme"
)

// Env is a running control plane with a client for it.
type Env struct {
	*envtest.Environment
	Config *rest.Config
	Client client.Client
	Scheme *k8sruntime.Scheme
}

// RepoRoot is the repository's root folder, found from this file's location.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Start starts etcd and kube-apiserver from KUBEBUILDER_ASSETS and installs the CRDs
// from config/crd/bases. `make test` builds the binaries and sets the variable.
func Start() (*Env, error) {
	return start(false)
}

// StartAggregating is Start with the kube-apiserver configured to proxy to aggregated
// API servers, as a cluster's is: a front proxy client certificate and the
// requestheader flags (published in kube-system/extension-apiserver-authentication).
// An APIService reaches a server in the test process through an ExternalName Service
// (say, localhost): --enable-aggregator-routing resolves only ClusterIP Services'
// EndpointSlices, and those may not point at a loopback address.
func StartAggregating() (*Env, error) {
	return start(true)
}

func start(aggregating bool) (*Env, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return nil, errors.New("KUBEBUILDER_ASSETS is not set: run the tests with `make test`, " +
			"which builds etcd and kube-apiserver from Go modules and points envtest at them")
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	var proxyDir string
	if aggregating {
		dir, err := os.MkdirTemp("", "inlet-front-proxy-")
		if err != nil {
			return nil, err
		}
		proxyDir = dir
		if err := writeFrontProxyCerts(dir); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		args := env.ControlPlane.GetAPIServer().Configure()
		args.Set("requestheader-client-ca-file", filepath.Join(dir, "ca.crt"))
		args.Set("requestheader-allowed-names", frontProxyName)
		args.Set("requestheader-username-headers", "X-Remote-User")
		args.Set("requestheader-group-headers", "X-Remote-Group")
		args.Set("requestheader-extra-headers-prefix", "X-Remote-Extra-")
		args.Set("proxy-client-cert-file", filepath.Join(dir, "proxy.crt"))
		args.Set("proxy-client-key-file", filepath.Join(dir, "proxy.key"))
	}
	cfg, err := env.Start()
	if proxyDir != "" {
		// The API server has read the files.
		defer func() { _ = os.RemoveAll(proxyDir) }()
	}
	if err != nil {
		return nil, fmt.Errorf("start control plane from %s: %w", assets, err)
	}
	scheme := inletscheme.New()
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("create client: %w", err)
	}
	return &Env{Environment: env, Config: cfg, Client: c, Scheme: scheme}, nil
}

// GroupVersionKind is a shorthand for inlet kinds in tests.
func GroupVersionKind(kind string) schema.GroupVersionKind {
	return inletv1alpha1.GroupVersion.WithKind(kind)
}

// RunTests is a TestMain body: it starts the control plane, hands it to started, runs
// the tests, stops the control plane and exits with the tests' result.
func RunTests(m *testing.M, started func(*Env)) {
	env, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	started(env)
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop control plane:", err)
	}
	os.Exit(code)
}
