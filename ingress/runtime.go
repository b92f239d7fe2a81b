package ingress

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// GCPercent is the garbage collector target the ingress runs with unless GOGC is set:
// the data path allocates short-lived maps for every event, and collecting a quarter
// as often buys about 15% more events per second for a larger but bounded heap.
const GCPercent = 400

// TuneRuntime sets the garbage collector for the ingress's allocation pattern: GOGC 400
// unless GOGC is set, bounded by a soft memory limit of 90% of the container's memory
// limit unless GOMEMLIMIT is set, so the larger target never runs the pod out of
// memory. It returns the limit set, or 0.
func TuneRuntime() int64 {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
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
