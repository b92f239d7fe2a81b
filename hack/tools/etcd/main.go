// Command etcd is the upstream etcd server, built from its Go module so that envtest
// and the local control plane need no downloaded release.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
