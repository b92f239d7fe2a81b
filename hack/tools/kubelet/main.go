// Command kubelet is the upstream Kubernetes node agent, built from its Go module so that
// the end-to-end test (make e2e) runs a real node without a downloaded release.
package main

import (
	"context"
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kubelet/app"
)

func main() {
	os.Exit(cli.Run(app.NewKubeletCommand(context.Background())))
}
