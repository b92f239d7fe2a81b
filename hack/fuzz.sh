#!/usr/bin/env bash
# fuzz.sh runs every Fuzz target in the module briefly each (default 20000 executions), so
# that `make test` exercises the parsers and verifiers with generated input. A count
# (20000x) rather than a duration keeps the work the same on a loaded machine.
#   hack/fuzz.sh 30s     # longer runs, locally
set -euo pipefail
fuzztime=${1:-20000x}
cd "$(dirname "$0")/.."
found=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  grep -lq '^func Fuzz' "$dir"/*_test.go 2>/dev/null || continue
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
    found=$((found + 1))
    echo "fuzz $pkg $target for $fuzztime"
    go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" >/tmp/inlet-fuzz.log 2>&1 || { cat /tmp/inlet-fuzz.log; exit 1; }
  done
done
echo "fuzzed $found targets, $fuzztime each"
