#!/usr/bin/env bash
# node-deps.sh installs the Debian packages the end-to-end test's node runs on, when
# they are missing: containerd, runc, the CNI plugins, iptables and conntrack.
set -euo pipefail
need=()
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v iptables >/dev/null || need+=(iptables)
command -v conntrack >/dev/null || need+=(conntrack)
command -v ip >/dev/null || need+=(iproute2)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "the end-to-end test needs ${need[*]}: install them (apt-get install ${need[*]}) or run as root" >&2
  exit 1
fi
echo "installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# CI removes what it installed (NODE_DEPS_RECORD names the file it reads).
if [ -n "${NODE_DEPS_RECORD:-}" ]; then printf '%s\n' "${need[@]}" >> "$NODE_DEPS_RECORD"; fi
