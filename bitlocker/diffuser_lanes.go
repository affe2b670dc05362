package bitlocker

import "unsafe"

// The Elephant diffusers over several sectors at once. Diffuser A is a
// chain: each word waits for the one two before it, so a sector done alone
// costs at least a clock per word and cycle, whatever the code. Sectors
// are independent, though, and the diffusers are only 32-bit additions,
// XORs and rotations, which vector registers do for four (SSE2, every
// amd64) or eight (AVX2) words at once. So where the assembly exists
// (diffuser_amd64.s, written by diffuser_amd64_gen.go), CBC + Elephant
// decrypts a group of as many sectors as a vector has lanes with AES,
// then runs both diffusers over the whole group: word i of the group's
// sector s goes to lane s of vector i of a scratch buffer (a transpose
// of squares of words), each step of a diffuser is then one vector
// instruction sequence for every sector, and the transpose back XORs
// each sector's key. The chain of A is as long as for one sector, and is
// shared by four or eight. The sectors left over (fewer than a group) go
// one by one through the Go code of diffuser.go, which the purego build
// tag and other architectures use for all.

// maxLanes is the most sectors a group has (AVX2's eight).
const maxLanes = 8

// laneKeys holds the sector keys of a group, one per lane.
type laneKeys [maxLanes][32]byte

// laneWords reports whether sectors of n words can go through the lanes:
// whole rounds of eight words for the transposes, and more than a block
// of twenty, which diffuser B's wrap-around room is filled after. Every
// sector size (128 to 1,024 words) can.
func laneWords(n int) bool { return n >= 32 && n%8 == 0 }

// newLaneScratch returns the scratch buffer of a group of lanes sectors
// of n words: n+5 vectors, aligned to 32 bytes (SSE2 adds from memory
// only at aligned addresses).
func newLaneScratch(n, lanes int) []byte {
	size := (n + 5) * lanes * 4
	b := make([]byte, size+32)
	off := (32 - int(uintptr(unsafe.Pointer(unsafe.SliceData(b)))%32)) % 32
	return b[off : off+size : off+size]
}

// diffuseLanesGo is what the assembly does, sector by sector: diffusers B
// and A, then the sector key. It runs groups of lane counts the assembly
// does not have.
func diffuseLanesGo(buf []byte, n, lanes int, keys *laneKeys) {
	w := make([]uint32, n)
	for s := 0; s < lanes; s++ {
		sec := buf[s*4*n : (s+1)*4*n]
		load(w, sec)
		diffuserBDecrypt(w)
		diffuserADecrypt(w)
		storeXOR(sec, w, &keys[s])
	}
}
