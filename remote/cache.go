package remote

import (
	"container/list"
	"sync"
	"sync/atomic"
	"time"
)

// blockCache holds recently read blocks of every open object, at most max
// bytes, least recently used first out. A request fetches a run of
// blocks; while it is in flight every block of the run points at it, so
// concurrent readers of any of them share the one request.
//
// Blocks that a sequential reader has read to their end (spent) are kept
// apart, at most spentMax bytes of them, and go first: a stream of
// hundreds of megabytes would otherwise push out everything else, and
// its memory, recycled at once, is the memory its read-ahead fills next
// (fresh memory costs a page fault per 4 KiB, which was most of the CPU a
// remote read took).
type blockCache struct {
	mu       sync.Mutex
	max, sz  int64
	spentSz  int64
	lru      *list.List // of *cacheEntry, most recent first
	spent    *list.List // spent blocks, most recent first
	m        map[blockKey]*list.Element
	inflight map[blockKey]*call
	// concurrent is set once two reads of one object ran at once.
	concurrent atomic.Bool
}

type blockKey struct {
	file uint64
	idx  int64
}

type cacheEntry struct {
	key   blockKey
	buf   *blockBuf
	ahead bool // fetched by a read-ahead: read to its end, it is spent
	spent bool
}

// spentMax bounds the spent blocks kept: a reader that goes back a
// little (a chain reading a base block around a child's run) still
// finds them. Once reads of one object have run at once (a FUSE mount:
// the kernel's reads arrive several at a time and out of order, and a
// child layer's block is read by two of them), spentMaxConcurrent:
// with 1 MiB a 4-layer dd through the mount asked for 10 MB again.
const (
	spentMax           = 1 << 20
	spentMaxConcurrent = 4 << 20
)

// blockBuf is one block's memory. Each holder (the cache, a call, a
// reader copying out of it) counts one reference; the last to let go
// gives it back to the pool, so no reader ever sees it refilled.
type blockBuf struct {
	b    []byte
	refs atomic.Int32
}

// bufPool keeps the memory of released blocks for the next ones, up to
// poolMax blocks.
var bufPool struct {
	mu   sync.Mutex
	free []*blockBuf
}

const poolMax = 1024

// getBuf returns a block buffer of n bytes (not zeroed) with one
// reference.
func getBuf(n int64) *blockBuf {
	bufPool.mu.Lock()
	var bb *blockBuf
	if k := len(bufPool.free); k > 0 {
		bb = bufPool.free[k-1]
		bufPool.free = bufPool.free[:k-1]
	}
	bufPool.mu.Unlock()
	if bb == nil {
		bb = &blockBuf{b: make([]byte, BlockSize)}
		stats.fresh.Add(1)
	}
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
	if len(bufPool.free) < poolMax {
		bufPool.free = append(bufPool.free, bb)
	}
	bufPool.mu.Unlock()
}

// call is one request for the blocks [first, first+n) of an object. Its
// blocks become readable one by one as the body arrives (dones[k] closes
// when block first+k is filled, or when the call failed before it), so a
// large request delays its first block no more than a small one would.
// A block's memory is taken from the pool as its bytes arrive: when the
// store is slower than the reader, the blocks in flight are few.
type call struct {
	first, n int64
	size     int64 // bytes of all its blocks
	dones    []chan struct{}
	filled   atomic.Int64 // blocks filled, in order
	err      error        // set before the first unfilled block's done closes
	ahead    bool         // a read-ahead, not a read waiting for it
	// used[k] is set when a reader read block first+k before the call
	// finished.
	used []atomic.Bool
	// moved[k] is set when block first+k went to the cache before the
	// call finished (done); c.mu guards it.
	moved []bool
	// need is one past the last of its blocks (from first) a reader
	// has waited for; held is how long it waited for the unread
	// read-ahead to be read (only the goroutine filling it uses it).
	need atomic.Int64
	held time.Duration
	// onFill, when set, is called with each block before its readers
	// wake (the disk cache keeps it: a process that exits once it has
	// read still leaves it there).
	onFill func(i int64)

	// bufs[k] is set by the goroutine filling the call, before block k
	// is published; readers look at it once it is. pins[k] counts the
	// readers waiting for block k: publishing gives each a reference.
	mu   sync.Mutex
	bufs []*blockBuf
	pins []int32
}

// blockLen is the size of block first+k.
func (cl *call) blockLen(k int64) int64 { return min(BlockSize, cl.size-k*BlockSize) }

// block returns block i's bytes (filled, or being filled by the caller).
func (cl *call) block(i int64) []byte { return cl.bufs[i-cl.first].b }

// wait returns block i's buffer once the request has filled it, with the
// reference publish gave the reader (lookup pinned it), or the call's
// error.
func (cl *call) wait(i int64) (*blockBuf, error) {
	k := i - cl.first
	<-cl.dones[k]
	if cl.filled.Load() <= k {
		return nil, cl.err
	}
	return cl.bufs[k], nil
}

// publish marks the blocks wholly within the first got bytes of the
// call's data as filled.
func (cl *call) publish(got int64) {
	for k := cl.filled.Load(); k < cl.n && ((k+1)*BlockSize <= got || got == cl.size); k++ {
		cl.dst(k*BlockSize, k*BlockSize) // a block of zero bytes read still has memory
		if cl.onFill != nil {
			cl.onFill(cl.first + k)
		}
		cl.mu.Lock()
		cl.bufs[k].refs.Add(cl.pins[k])
		cl.filled.Store(k + 1)
		cl.mu.Unlock()
		close(cl.dones[k])
	}
}

// dst returns the part of the call's memory at byte pos (from the call's
// start) up to the end of its block or end, whichever comes first, taking
// the block's memory from the pool if it has none yet. Only the goroutine
// filling the call uses it.
func (cl *call) dst(pos, end int64) []byte {
	k := pos / BlockSize
	if cl.bufs[k] == nil {
		bb := getBuf(cl.blockLen(k))
		cl.mu.Lock()
		cl.bufs[k] = bb
		cl.mu.Unlock()
	}
	b := cl.bufs[k].b
	return b[pos-k*BlockSize : max(pos-k*BlockSize, min(int64(len(b)), end-k*BlockSize))]
}

// zero clears the call's bytes [from, to) (a hole of a page blob: the
// pool's memory holds old bytes).
func (cl *call) zero(from, to int64) {
	for from < to {
		d := cl.dst(from, to)
		clear(d)
		from += int64(len(d))
	}
}

var (
	cacheMu  sync.Mutex
	memC     *blockCache
	diskC    *diskBlocks
	diskOnce bool
)

func resetCaches() {
	cacheMu.Lock()
	memC, diskC, diskOnce = nil, nil, false
	cacheMu.Unlock()
}

func memCache() *blockCache {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if memC == nil {
		memC = &blockCache{max: options().MemCache, lru: list.New(), spent: list.New(),
			m: map[blockKey]*list.Element{}, inflight: map[blockKey]*call{}}
	}
	return memC
}

// lookup returns block i's buffer when it is cached or already filled,
// with a reference the caller releases (done), and the call fetching it
// when one is: a call with no buffer is still filling it, and lookup
// pinned it for the caller (wait). Neither: the block must be fetched.
func (c *blockCache) lookup(f *file, i int64) (*blockBuf, *call) {
	k := blockKey{f.id, i}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		ce := e.Value.(*cacheEntry)
		if ce.spent {
			c.spent.MoveToFront(e)
		} else {
			c.lru.MoveToFront(e)
		}
		ce.buf.hold()
		return ce.buf, nil
	}
	cl := c.inflight[k]
	if cl == nil {
		return nil, nil
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if j := i - cl.first; j < cl.filled.Load() {
		cl.bufs[j].hold()
		return cl.bufs[j], cl
	}
	cl.pins[i-cl.first]++
	return nil, cl
}

// done releases a reader's reference to block i of f. A block a
// read-ahead brought is spent once read: a stream does not come back
// (a block read in pieces finds it in the spent list).
func (c *blockCache) done(f *file, i int64, bb *blockBuf, cl *call) {
	if cl != nil && cl.ahead {
		cl.used[i-cl.first].Store(true)
	}
	c.mu.Lock()
	if c.spend(f, i) {
		c.evict()
	}
	c.mu.Unlock()
	bb.release()
}

// passBack bounds the blocks before a read that skipped deems skipped:
// the largest gap a chain joins (hintGap) and some.
const passBack = 2 * hintGap / BlockSize

// skipped spends the blocks of f in [from, to) that read-ahead fetched
// and a lone sequential reader went past (the gaps a chain's read-ahead
// fetched along with a layer's runs), rather than keep them unread for as
// long as the cache has room.
func (c *blockCache) skipped(f *file, from, to int64) {
	c.mu.Lock()
	for j := to - 1; j >= max(from, to-passBack) && c.spend(f, j); j-- {
	}
	c.evict()
	c.mu.Unlock()
}

// spend moves block i of f, fetched by read-ahead, to the spent list,
// and says whether it did: from the LRU, or, when its call is still
// running, out of the call (the call's reference with it), so that its
// memory is recycled as soon as it is old rather than when a request of
// megabytes ends. c.mu is held.
func (c *blockCache) spend(f *file, i int64) bool {
	k := blockKey{f.id, i}
	if e, ok := c.m[k]; ok {
		ce := e.Value.(*cacheEntry)
		if !ce.ahead || ce.spent {
			return false
		}
		c.toSpent(e)
		return true
	}
	cl := c.inflight[k]
	if cl == nil || !cl.ahead || cl.moved[i-cl.first] || i-cl.first >= cl.filled.Load() {
		return false
	}
	cl.moved[i-cl.first] = true
	delete(c.inflight, k)
	cl.mu.Lock()
	bb := cl.bufs[i-cl.first]
	cl.mu.Unlock()
	c.m[k] = c.lru.PushFront(&cacheEntry{key: k, buf: bb, ahead: true})
	c.sz += int64(len(bb.b))
	c.toSpent(c.m[k])
	return true
}

// toSpent moves a cached entry to the spent list.
func (c *blockCache) toSpent(e *list.Element) {
	ce := e.Value.(*cacheEntry)
	c.lru.Remove(e)
	ce.spent = true
	c.m[ce.key] = c.spent.PushFront(ce)
	c.spentSz += int64(len(ce.buf.b))
}

// claim returns calls for the blocks of [from, to) that are neither
// cached nor being fetched, in runs of adjacent blocks of at most
// MaxRequest, with their memory; the caller must start each (f.run) or
// its readers wait forever.
func (c *blockCache) claim(f *file, from, to int64, ahead bool) []*call {
	var calls []*call
	var cur *call
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := from; i < to; i++ {
		k := blockKey{f.id, i}
		_, cached := c.m[k]
		_, busy := c.inflight[k]
		if cached || busy {
			cur = nil
			continue
		}
		if cur == nil || (cur.n*BlockSize >= MaxRequest && !c.shortTail(f, i, to)) {
			cur = &call{first: i, ahead: ahead}
			calls = append(calls, cur)
		}
		cur.n++
		cur.size += min(BlockSize, f.fi.Size-i*BlockSize)
		cur.dones = append(cur.dones, make(chan struct{}))
		c.inflight[k] = cur
	}
	for _, cl := range calls {
		cl.used = make([]atomic.Bool, cl.n)
		cl.bufs = make([]*blockBuf, cl.n)
		cl.pins = make([]int32, cl.n)
		cl.moved = make([]bool, cl.n)
	}
	return calls
}

// shortTail says whether the claimable run of blocks from i (before to)
// holds at most a quarter of MaxRequest: the call before it takes it
// rather than leave it a request of its own (a read-ahead of 33 MiB is
// two requests, not 16 + 16 + 1). c.mu is held.
func (c *blockCache) shortTail(f *file, i, to int64) bool {
	limit := i + MaxRequest/4/BlockSize
	for j := i; j < to; j++ {
		if j >= limit {
			return false
		}
		k := blockKey{f.id, j}
		if _, ok := c.m[k]; ok {
			return true
		}
		if _, ok := c.inflight[k]; ok {
			return true
		}
	}
	return true
}

// finish records the blocks a call filled (all of them, or those before
// its failure) and wakes the readers of the others.
func (c *blockCache) finish(f *file, cl *call) {
	filled := cl.filled.Load()
	c.mu.Lock()
	for i := cl.first; i < cl.first+cl.n; i++ {
		k := blockKey{f.id, i}
		if cl.moved[i-cl.first] {
			continue // in the cache already
		}
		delete(c.inflight, k)
		bb := cl.bufs[i-cl.first]
		if i-cl.first >= filled {
			if bb != nil { // filled in part
				bb.release()
			}
			continue
		}
		ce := &cacheEntry{key: k, buf: bb, ahead: cl.ahead}
		c.m[k] = c.lru.PushFront(ce)
		c.sz += int64(len(bb.b))
		if cl.used[i-cl.first].Load() {
			c.toSpent(c.m[k])
		}
	}
	c.evict()
	c.mu.Unlock()
	for k := filled; k < cl.n; k++ {
		close(cl.dones[k])
	}
}

// evict drops spent blocks beyond spentMax, then the least recently used
// blocks while the cache is over its bound. c.mu is held.
func (c *blockCache) evict() {
	limit := int64(spentMax)
	if c.concurrent.Load() {
		limit = spentMaxConcurrent
	}
	for c.spentSz > limit || (c.sz > c.max && c.spent.Len() > 0) {
		c.drop(c.spent.Back())
	}
	for c.sz > c.max && c.lru.Len() > 1 {
		c.drop(c.lru.Back())
	}
}

func (c *blockCache) drop(e *list.Element) {
	ce := e.Value.(*cacheEntry)
	if ce.spent {
		c.spent.Remove(e)
		c.spentSz -= int64(len(ce.buf.b))
	} else {
		c.lru.Remove(e)
	}
	delete(c.m, ce.key)
	c.sz -= int64(len(ce.buf.b))
	ce.buf.release()
}
