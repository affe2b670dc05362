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
)

// blockCache holds recently read blocks of every open object, at most max
// bytes, least recently used first out. Concurrent readers of one block
// share one request.
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

type call struct {
	done chan struct{}
	data []byte
	err  error
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

func (c *blockCache) has(f *file, i int64) bool {
	k := blockKey{f.id, i}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[k]
	_, busy := c.inflight[k]
	return ok || busy
}

func (c *blockCache) get(f *file, i int64) ([]byte, error) {
	k := blockKey{f.id, i}
	c.mu.Lock()
	if e, ok := c.m[k]; ok {
		c.lru.MoveToFront(e)
		c.mu.Unlock()
		stats.hits.Add(1)
		return e.Value.(*cacheEntry).data, nil
	}
	if cl, ok := c.inflight[k]; ok {
		c.mu.Unlock()
		<-cl.done
		return cl.data, cl.err
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[k] = cl
	c.mu.Unlock()

	cl.data, cl.err = f.fetch(i)

	c.mu.Lock()
	delete(c.inflight, k)
	if cl.err == nil {
		c.m[k] = c.lru.PushFront(&cacheEntry{k, cl.data})
		c.sz += int64(len(cl.data))
		for c.sz > c.max && c.lru.Len() > 1 {
			e := c.lru.Back()
			ce := e.Value.(*cacheEntry)
			c.lru.Remove(e)
			delete(c.m, ce.key)
			c.sz -= int64(len(ce.data))
		}
	}
	c.mu.Unlock()
	close(cl.done)
	return cl.data, cl.err
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
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d", name, ver, i)))
	s := hex.EncodeToString(h[:16])
	return filepath.Join(d.dir, s[:2], s)
}

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
