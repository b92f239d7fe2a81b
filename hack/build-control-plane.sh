#!/usr/bin/env bash
# build-control-plane.sh builds etcd, kube-apiserver and kubectl from their Go modules
# (hack/tools) into a folder keyed by version, once, and prints that folder. Release
# downloads are unreachable here, and a fresh machine needs nothing but Go for this.
# With WITH_NODE=1 it also builds what a real node and the end-to-end test need:
# kube-controller-manager, kube-scheduler, kubelet, kube-proxy (same Kubernetes version)
# and nats-server (the version inlet's go.mod embeds).
#
#   hack/build-control-plane.sh            # build what is missing, print the folder
#   KUBE_VERSION=v1.37.2 hack/build-control-plane.sh
#   WITH_NODE=1 hack/build-control-plane.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kube_version=${KUBE_VERSION:-v1.37.2}
etcd_version=$(cd "$here/tools" && go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
dest=${INLET_ASSETS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/inlet/control-plane-${kube_version}}
mkdir -p "$dest"

minor=${kube_version#v1.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

build() { # name, package[, module folder]
  local name=$1 pkg=$2 dir=${3:-$here/tools}
  if [ -x "$dest/$name" ]; then return; fi
  echo "building $name ($pkg) into $dest; the first build takes minutes on 2 cores..." >&2
  local start=$SECONDS
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$dest/$name.tmp" "$pkg")
  mv "$dest/$name.tmp" "$dest/$name"
  echo "built $name in $((SECONDS - start))s" >&2
}

build etcd ./etcd
build kube-apiserver ./kube-apiserver
if [ "${WITH_KUBECTL:-1}" = 1 ]; then build kubectl ./kubectl; fi
if [ "${WITH_NODE:-0}" = 1 ]; then
  # One at a time: each peaks at 1-3 GB and uses both cores.
  build kube-scheduler ./kube-scheduler
  build kube-proxy ./kube-proxy
  build kube-controller-manager ./kube-controller-manager
  build kubelet ./kubelet
  build nats-server github.com/nats-io/nats-server/v2 "$here/.."
fi
echo "etcd $etcd_version, kube-apiserver $kube_version" > "$dest/VERSIONS"
echo "$dest"
