//go:build !amd64 || purego

package bitlocker

// xorTweaksFast has no vector code here: the Go passes do it.
func xorTweaksFast(dst, src []byte, lo, hi uint64, st *xtsState) bool { return false }
