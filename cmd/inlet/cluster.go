package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"inlet.dev/inlet/api/manifests"
	"inlet.dev/inlet/controllers/testenv"
)

type clusterOptions struct {
	controlPlaneDir string
	crdDir          string
	samples         []string
	kubeconfig      string
	namespace       string
}

func newClusterCommand() *cobra.Command {
	o := clusterOptions{}
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Run a local Kubernetes control plane with inlet's CRDs and the samples applied",
		Long: `cluster starts a real etcd and kube-apiserver (built from Go modules by
hack/build-control-plane.sh), installs inlet's CRDs, applies the manifests given with
--samples, and writes a kubeconfig so that kubectl can talk to it. Ctrl-C stops it.`,
		Example: `  inlet cluster --samples config/samples
  kubectl --kubeconfig .inlet/kubeconfig get inlet`,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context()) },
	}
	cache, _ := os.UserCacheDir()
	cmd.Flags().StringVar(&o.controlPlaneDir, "control-plane-dir", envOr("KUBEBUILDER_ASSETS", filepath.Join(cache, "inlet", "control-plane-v1.37.2")), "folder holding the etcd and kube-apiserver binaries")
	cmd.Flags().StringVar(&o.crdDir, "crds", "config/crd/bases", "folder holding inlet's CRDs")
	cmd.Flags().StringSliceVar(&o.samples, "samples", nil, "manifest files or folders to apply once the control plane is up")
	cmd.Flags().StringVar(&o.kubeconfig, "kubeconfig-out", ".inlet/kubeconfig", "where to write the kubeconfig for kubectl")
	cmd.Flags().StringVar(&o.namespace, "namespace", "default", "namespace the samples are applied in")
	return cmd
}

func (o *clusterOptions) run(ctx context.Context) error {
	start := time.Now()
	fmt.Printf("starting etcd and kube-apiserver from %s ...\n", o.controlPlaneDir)
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{o.crdDir},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: o.controlPlaneDir,
	}
	if _, err := env.Start(); err != nil {
		return fmt.Errorf("start control plane (run `make control-plane` to build it): %w", err)
	}
	defer func() {
		fmt.Println("stopping the control plane")
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop control plane:", err)
		}
	}()
	admin, err := env.AddUser(envtest.User{Name: "inlet-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("create admin user: %w", err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(o.kubeconfig), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(o.kubeconfig, kubeconfig, 0o600); err != nil {
		return err
	}
	fmt.Printf("control plane up in %s; kubeconfig written to %s\n", time.Since(start).Round(time.Millisecond), o.kubeconfig)

	c, err := client.New(admin.Config(), client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		return err
	}
	if len(o.samples) > 0 {
		if err := apply(ctx, c, o.namespace, o.samples); err != nil {
			return err
		}
	}
	fmt.Printf("\ntry:\n  kubectl --kubeconfig %s get inlet\n  kubectl --kubeconfig %s explain source.spec\n\nCtrl-C stops the control plane.\n", o.kubeconfig, o.kubeconfig)
	<-ctx.Done()
	return nil
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
			err = c.Patch(ctx, o.Unstructured, client.Apply, client.FieldOwner("inlet"), client.ForceOwnership)
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

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
