package remote

import (
	"slices"
	"sync"
	"unsafe"
)

// Block memory comes in slabs of slabBlocks blocks, each slab one
// allocation aligned to hugePage, which the kernel is asked to back with
// huge pages where it can (hugeAdvise: Linux's transparent huge pages in
// "madvise" mode, the usual default). A stream of hundreds of megabytes
// keeps its read-ahead window's worth of blocks alive; in 4 KiB pages the
// first touch of that memory was a page fault every 4 KiB, 25 000 for a
// 256 MiB read and a third of the reader's CPU (the kernel zeroing and
// charging each page); in 2 MiB pages it is a few dozen.
const (
	hugePage   = 2 << 20
	slabBlocks = 4 * hugePage / BlockSize
)

// slab is one allocation of blocks; free counts those in the pool.
type slab struct {
	free int
}

// bufPool holds the free blocks, the most recently freed last (its
// memory is the likeliest to be in the CPU's caches). Once more than
// poolMax blocks are free, a slab whose blocks are all free is dropped
// (the garbage collector takes its memory back).
var bufPool struct {
	mu    sync.Mutex
	free  []*blockBuf
	slabs int
	peak  int // most slabs held at once
}

const poolMax = 1024

// newSlab allocates one slab and returns its blocks, the first one last.
// Its memory is on the Go heap (the race detector watches it; the blocks
// keep it alive).
func newSlab() []*blockBuf {
	raw := make([]byte, slabBlocks*BlockSize+hugePage)
	skip := (hugePage - int(uintptr(unsafe.Pointer(&raw[0]))%hugePage)) % hugePage
	mem := raw[skip : skip+slabBlocks*BlockSize : skip+slabBlocks*BlockSize]
	hugeAdvise(mem)
	s := &slab{free: slabBlocks}
	bbs := make([]*blockBuf, slabBlocks)
	for i := range bbs {
		// Handed out from the slab's start: a huge page is filled in
		// one fault once it is touched.
		k := slabBlocks - 1 - i
		bbs[i] = &blockBuf{b: mem[k*BlockSize : (k+1)*BlockSize : (k+1)*BlockSize], slab: s}
	}
	return bbs
}

// getBuf returns a block buffer of n bytes (not zeroed) with one
// reference.
func getBuf(n int64) *blockBuf {
	bufPool.mu.Lock()
	k := len(bufPool.free)
	if k == 0 {
		bufPool.free = append(bufPool.free, newSlab()...)
		bufPool.slabs++
		bufPool.peak = max(bufPool.peak, bufPool.slabs)
		k = len(bufPool.free)
	}
	bb := bufPool.free[k-1]
	bufPool.free = bufPool.free[:k-1]
	bb.slab.free--
	bufPool.mu.Unlock()
	bb.b = bb.b[:n]
	bb.refs.Store(1)
	return bb
}

func (bb *blockBuf) hold() { bb.refs.Add(1) }

func (bb *blockBuf) release() {
	if bb.refs.Add(-1) != 0 {
		return // still held (below zero: a bug; then it is not reused)
	}
	bufPool.mu.Lock()
	defer bufPool.mu.Unlock()
	bufPool.free = append(bufPool.free, bb)
	s := bb.slab
	s.free++
	if s.free == slabBlocks && len(bufPool.free) > poolMax+slabBlocks {
		bufPool.free = slices.DeleteFunc(bufPool.free, func(b *blockBuf) bool { return b.slab == s })
		bufPool.slabs--
	}
}

// blockMemory returns the bytes of block memory held now (the blocks in
// use and those free in the pool, by whole slabs) and the most held at
// once so far.
func blockMemory() (now, peak int64) {
	bufPool.mu.Lock()
	defer bufPool.mu.Unlock()
	return int64(bufPool.slabs) * slabBlocks * BlockSize, int64(bufPool.peak) * slabBlocks * BlockSize
}
