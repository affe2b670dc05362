package remote

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
)

// blockCache holds recently read blocks of every open object, at most max
// bytes, least recently used first out. A request fetches a run of
// blocks; while it is in flight every block of the run points at it, so
// concurrent readers of any of them share the one request.
type blockCache struct {
	mu       sync.Mutex
	max, sz  int64
	lru      *list.List // of *cacheEntry, most recent first
	m        map[blockKey]*list.Element
	inflight map[blockKey]*call
}

type blockKey struct {
	file uint64
	idx  int64
}

type cacheEntry struct {
	key  blockKey
	data []byte
}

// call is one request for the blocks [first, first+n) of an object. Its
// blocks become readable one by one as the body arrives (dones[k] closes
// when block first+k is filled, or when the call failed before it), so a
// large request delays its first block no more than a small one would.
type call struct {
	first, n int64
	data     []byte
	dones    []chan struct{}
	filled   atomic.Int64 // blocks filled, in order
	err      error        // set before the first unfilled block's done closes
	// onFill, when set, is called with each block before its readers
	// wake (the disk cache keeps it: a process that exits once it has
	// read still leaves it there).
	onFill func(i int64)
}

func newCall(first int64) *call { return &call{first: first} }

// block returns block i's bytes of the call's data.
func (cl *call) block(i int64) []byte {
	lo := (i - cl.first) * BlockSize
	return cl.data[lo:min(lo+BlockSize, int64(len(cl.data)))]
}

// wait returns block i's bytes once the request has them.
func (cl *call) wait(i int64) ([]byte, error) {
	k := i - cl.first
	<-cl.dones[k]
	if cl.filled.Load() <= k {
		return nil, cl.err
	}
	return cl.block(i), nil
}

// publish marks the blocks wholly within the first got bytes of the
// call's data as filled.
func (cl *call) publish(got int64) {
	for k := cl.filled.Load(); k < cl.n && ((k+1)*BlockSize <= got || got == int64(len(cl.data))); k++ {
		if cl.onFill != nil {
			cl.onFill(cl.first + k)
		}
		cl.filled.Store(k + 1)
		close(cl.dones[k])
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
		memC = &blockCache{max: options().MemCache, lru: list.New(), m: map[blockKey]*list.Element{}, inflight: map[blockKey]*call{}}
	}
	return memC
}

// lookup returns block i when it is cached, else the call fetching it,
// else neither.
func (c *blockCache) lookup(f *file, i int64) ([]byte, *call) {
	k := blockKey{f.id, i}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*cacheEntry).data, nil
	}
	return nil, c.inflight[k]
}

// claim returns calls for the blocks of [from, to) that are neither
// cached nor being fetched, in runs of adjacent blocks of at most
// MaxRequest; the caller must start each (f.run) or its readers wait
// forever.
func (c *blockCache) claim(f *file, from, to int64) []*call {
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
		if cur == nil || cur.n*BlockSize >= MaxRequest {
			cur = newCall(i)
			calls = append(calls, cur)
		}
		cur.n++
		cur.dones = append(cur.dones, make(chan struct{}))
		c.inflight[k] = cur
	}
	return calls
}

// finish records the blocks a call filled (all of them, or those before
// its failure) and wakes the readers of the others.
func (c *blockCache) finish(f *file, cl *call) {
	filled := cl.filled.Load()
	c.mu.Lock()
	for i := cl.first; i < cl.first+cl.n; i++ {
		k := blockKey{f.id, i}
		delete(c.inflight, k)
		if i-cl.first >= filled {
			continue
		}
		if e, ok := c.m[k]; ok { // cannot happen: claimed blocks are not cached
			c.lru.Remove(e)
			c.sz -= int64(len(e.Value.(*cacheEntry).data))
		}
		b := cl.block(i)
		c.m[k] = c.lru.PushFront(&cacheEntry{k, b})
		c.sz += int64(len(b))
	}
	for c.sz > c.max && c.lru.Len() > 1 {
		e := c.lru.Back()
		ce := e.Value.(*cacheEntry)
		c.lru.Remove(e)
		delete(c.m, ce.key)
		c.sz -= int64(len(ce.data))
	}
	c.mu.Unlock()
	for k := filled; k < cl.n; k++ {
		close(cl.dones[k])
	}
}

// diskBlocks keeps blocks as files under a directory, named by a hash of
// the object's name, version and block number, so that a replaced object
// never reads old blocks. Over max bytes, the oldest files go first.
type diskBlocks struct {
	dir     string
	mu      sync.Mutex
	max, sz int64
}

func diskCache() *diskBlocks {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if diskOnce {
		return diskC
	}
	diskOnce = true
	o := options()
	if o.CacheDir == "" {
		return nil
	}
	if err := os.MkdirAll(o.CacheDir, 0o700); err != nil {
		return nil
	}
	d := &diskBlocks{dir: o.CacheDir, max: o.CacheSize}
	filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			if fi, err := e.Info(); err == nil {
				d.sz += fi.Size()
			}
		}
		return nil
	})
	diskC = d
	return d
}

func (d *diskBlocks) path(f *file, i int64) string {
	name, ver := f.cacheName()
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d\x00%d", name, ver, BlockSize, i)))
	s := hex.EncodeToString(h[:16])
	return filepath.Join(d.dir, s[:2], s)
}

// getRun returns the n bytes of f from block first on when every block
// of them is cached, else nil.
func (d *diskBlocks) getRun(f *file, first, n int64) []byte {
	buf := make([]byte, 0, n)
	for i := first; int64(len(buf)) < n; i++ {
		b := d.get(f, i, min(BlockSize, n-int64(len(buf))))
		if b == nil {
			return nil
		}
		buf = append(buf, b...)
	}
	return buf
}

// get returns block i of f, n bytes, or nil.
func (d *diskBlocks) get(f *file, i, n int64) []byte {
	if f.fi.ID.Version == "" {
		return nil // no version: a cached block could be stale
	}
	b, err := os.ReadFile(d.path(f, i))
	if err != nil || int64(len(b)) != n {
		return nil
	}
	return b
}

func (d *diskBlocks) put(f *file, i int64, b []byte) {
	if f.fi.ID.Version == "" || int64(len(b)) > d.max {
		return
	}
	p := d.path(f, i)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp*")
	if err != nil {
		return
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return
	}
	d.mu.Lock()
	d.sz += int64(len(b))
	over := d.sz > d.max
	d.mu.Unlock()
	if over {
		d.evict()
	}
}

// evict removes the oldest block files until the cache holds 90% of max.
func (d *diskBlocks) evict() {
	d.mu.Lock()
	defer d.mu.Unlock()
	type ent struct {
		p    string
		size int64
		mod  int64
	}
	var all []ent
	var total int64
	filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			if fi, err := e.Info(); err == nil {
				all = append(all, ent{p, fi.Size(), fi.ModTime().UnixNano()})
				total += fi.Size()
			}
		}
		return nil
	})
	sort.Slice(all, func(i, j int) bool { return all[i].mod < all[j].mod })
	for _, e := range all {
		if total <= d.max*9/10 {
			break
		}
		if os.Remove(e.p) == nil {
			total -= e.size
		}
	}
	d.sz = total
}
