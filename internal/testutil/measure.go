package testutil

import (
	"runtime"
	"time"
)

// Measured runs f and returns the bytes it allocated and its duration:
// hostile-input tests check both against a cap.
func Measured(f func()) (uint64, time.Duration) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, d
}
