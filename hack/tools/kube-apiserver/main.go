// Command kube-apiserver is the upstream Kubernetes API server, built from its Go
// module so that envtest and the local control plane need no downloaded release.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
