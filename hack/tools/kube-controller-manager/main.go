// Command kube-controller-manager is the upstream Kubernetes controller manager, built from its Go module so that
// the end-to-end test (make e2e) runs a real node without a downloaded release.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
