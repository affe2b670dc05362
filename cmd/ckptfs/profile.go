package main

import (
	"fmt"
	"maps"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
)

// startProfile writes a CPU profile to $CKPTFS_CPUPROFILE while the command
// runs (for measuring the mount's read path); it returns the stop function.
func startProfile() func() {
	path := os.Getenv("CKPTFS_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
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
