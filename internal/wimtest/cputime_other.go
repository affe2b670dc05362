//go:build !linux

package wimtest

// threadCPU is only measured on Linux.
func threadCPU() (int64, bool) { return 0, false }
