package main

import (
	"fmt"
	"maps"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
)

// startProfile writes a CPU profile to $CKPTFS_CPUPROFILE while the command
// runs (for measuring the mount's read path), and a heap profile of what
// is still in use when it ends to $CKPTFS_MEMPROFILE (for what the
// mount's caches hold); it returns the stop function.
func startProfile() func() {
	stopCPU := func() {}
	if path := os.Getenv("CKPTFS_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if err := pprof.StartCPUProfile(f); err != nil {
				f.Close()
			} else {
				stopCPU = func() {
					pprof.StopCPUProfile()
					f.Close()
				}
			}
		}
	}
	return func() {
		stopCPU()
		if path := os.Getenv("CKPTFS_MEMPROFILE"); path != "" {
			if f, err := os.Create(path); err == nil {
				runtime.GC()
				pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
	}
}

// writeRequests writes the mount's FUSE request counts to
// $CKPTFS_REQUESTS, one "KIND COUNT" line each, when it is set (for
// measuring what a walk costs; scripts/bench.sh reads them).
func writeRequests(counts map[string]uint64) {
	path := os.Getenv("CKPTFS_REQUESTS")
	if path == "" {
		return
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(&b, "%s %d\n", k, counts[k])
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
}
