//go:build amd64 && !purego

package bitlocker

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate go run diffuser_amd64_gen.go

// simdLanes is the group size CBC + Elephant decrypts with (see
// diffuser_lanes.go): eight sectors where the CPU has AVX2, else four.
var simdLanes = lanesOf(cpu.X86.HasAVX2)

func lanesOf(avx2 bool) int {
	if avx2 {
		return 8
	}
	return 4
}

// diffuseLanes runs diffusers B and A over the lanes sectors of n words
// in buf, then XORs keys[s] over sector s. scratch is from
// newLaneScratch(n, lanes); n passes laneWords.
func diffuseLanes(buf []byte, n, lanes int, keys *laneKeys, scratch []byte) {
	if !laneWords(n) || len(buf) < lanes*4*n || len(scratch) < (n+5)*lanes*4 ||
		uintptr(unsafe.Pointer(unsafe.SliceData(scratch)))%32 != 0 {
		diffuseLanesGo(buf, n, lanes, keys) // no caller's: the assembly's bounds and alignment
		return
	}
	switch {
	case lanes == 8 && cpu.X86.HasAVX2:
		diffuseAVX2(&buf[0], n, keys, &scratch[0])
	case lanes == 4:
		diffuseSSE2(&buf[0], n, keys, &scratch[0])
	default:
		diffuseLanesGo(buf, n, lanes, keys)
	}
}

//go:noescape
func diffuseAVX2(buf *byte, words int, keys *laneKeys, scratch *byte)

//go:noescape
func diffuseSSE2(buf *byte, words int, keys *laneKeys, scratch *byte)
