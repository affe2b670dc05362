package main

import (
	"os"
	"runtime/pprof"
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
