package ingress

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// TuneRuntime bounds the ingress's memory by a soft memory limit of 90% of the
// container's memory limit, unless GOMEMLIMIT is set, so that a burst never runs the pod
// out of memory. The garbage collector keeps Go's default target (GOGC 100, unless
// GOGC is set): the data path allocates little per event since it decodes only what
// the mappings read, and a larger target (GOGC 400, which the ingress used before)
// held 25–30 MiB more under load for no throughput the benchmarks could measure
// (docs/benchmarks.md). It returns the limit set, or 0.
func TuneRuntime() int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	limit := cgroupMemoryLimit()
	if limit <= 0 {
		return 0
	}
	limit = limit / 10 * 9
	debug.SetMemoryLimit(limit)
	return limit
}

// cgroupMemoryLimit reads the container's memory limit (cgroup v2, then v1), or 0.
func cgroupMemoryLimit() int64 {
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if err == nil && v > 0 && v < 1<<50 {
			return v
		}
	}
	return 0
}
