// Package gctune sets the Go garbage collector for the server unless the
// environment does (GOGC, GOMEMLIMIT). The server's live heap is small (the
// list cache, bounded by TASK_LIST_CACHE_BYTES, and little else), and at
// GOGC=100 the collector took a tenth of its CPU at full load: GOGC=400
// collects a quarter as often. A soft memory limit at 80 % of the
// container's (cgroup) limit makes the collector work harder before the
// kernel's OOM killer would, so the larger heap never costs the process.
package gctune

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// GCPercent is GOGC when the environment sets none.
const GCPercent = 400

// limitShare is the soft limit's share of the container's memory limit.
const limitShare = 0.8

// cgroupLimits are where cgroup v2 and v1 say the memory limit.
var cgroupLimits = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// Settings are what Apply set, for the start-up log: 0 for what it left alone.
type Settings struct {
	GCPercent   int
	MemoryLimit int64
}

// Apply sets GOGC and the soft memory limit, each unless the environment
// sets it.
func Apply() Settings {
	var s Settings
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
		s.GCPercent = GCPercent
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		if limit, ok := containerLimit(cgroupLimits); ok {
			s.MemoryLimit = int64(float64(limit) * limitShare)
			debug.SetMemoryLimit(s.MemoryLimit)
		}
	}
	return s
}

// containerLimit is the first memory limit the files state; "max" and the
// huge values cgroup v1 uses for none mean no limit.
func containerLimit(files []string) (int64, bool) {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(b))
		if v == "max" {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n >= 1<<60 {
			return 0, false
		}
		return n, true
	}
	return 0, false
}
