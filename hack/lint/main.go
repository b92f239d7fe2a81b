// Command golangci-lint is golangci-lint with the module plugins inlet lints with compiled
// in: logcheck (Kubernetes logging conventions) and kube-api-linter (Kubernetes API
// conventions, run on api/ only). It is what `golangci-lint custom` would build from a
// .custom-gcl.yml listing these two plugins, built here with `go build` from this module
// instead, so the versions are pinned in go.mod and go.sum like every other dependency and
// the build needs only the Go module proxy (`golangci-lint custom` clones golangci-lint's
// repository with git). `make lint` builds it into bin/ and runs it with ../../.golangci.yml.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/golangci/golangci-lint/v2/pkg/commands"
	"github.com/golangci/golangci-lint/v2/pkg/exitcodes"

	// The module plugins register themselves with golangci-lint's plugin registry;
	// .golangci.yml enables them as linters of type "module".
	_ "sigs.k8s.io/kube-api-linter"
	_ "sigs.k8s.io/logtools/logcheck/gclplugin"
)

func main() {
	info := commands.BuildInfo{Version: "unknown", Commit: "?", Date: "(unknown)", GoVersion: "unknown"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		info.GoVersion = bi.GoVersion
		for _, dep := range bi.Deps {
			if dep.Path == "github.com/golangci/golangci-lint/v2" {
				info.Version = strings.TrimPrefix(dep.Version, "v") + " (inlet, with logcheck and kube-api-linter)"
			}
		}
	}
	if err := commands.Execute(info); err != nil {
		_, _ = fmt.Fprintf(os.Stderr, "The command is terminated due to an error: %v\n", err)
		os.Exit(exitcodes.Failure)
	}
}
