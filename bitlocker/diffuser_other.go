//go:build !amd64 || purego

package bitlocker

// simdLanes is 0: without the assembly, CBC + Elephant decrypts sector by
// sector (see diffuser_lanes.go).
var simdLanes = 0

// diffuseLanes is the Go definition; tests run it here too.
func diffuseLanes(buf []byte, n, lanes int, keys *laneKeys, _ []byte) {
	diffuseLanesGo(buf, n, lanes, keys)
}
