// Command kube-scheduler is the upstream Kubernetes scheduler, built from its Go module so that
// the end-to-end test (make e2e) runs a real node without a downloaded release.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	os.Exit(cli.Run(app.NewSchedulerCommand()))
}
