package guest

import (
	"container/list"
	"io/fs"
	"sync"

	"github.com/ckptfs/ckptfs/internal/membudget"
)

// dirCache keeps the most recently used directory listings of a volume.
// The volume never changes under us, and go-diskfs finds a directory by
// walking its path from the root, so without the cache every Stat listed
// each ancestor again: a walk of a tree cost the square of its depth times the size
// of the directories above. Bounded by the entries held, not listings.
type dirCache struct {
	mu      sync.Mutex
	max     int // entries held at most
	entries int
	byPath  map[string]*list.Element
	lru     list.List // of *cachedDir, most recent first
	// acct counts the cache in the process-wide memory budget
	// (internal/membudget), at dirEntryBytes an entry: go-diskfs's
	// entries are not ours to measure.
	acct *membudget.Account
}

// dirEntryBytes is what a cached go-diskfs entry is taken to cost.
const dirEntryBytes = 200

func cachedBytes(d *cachedDir) int64 {
	return int64(max(len(d.ents), 1))*dirEntryBytes + int64(len(d.path))
}

type cachedDir struct {
	path string
	ents []fs.DirEntry
}

// dirCacheEntries bounds a volume's cache: some 200 bytes an entry, so
// about 25 MiB, and more than any one directory a listing may hold.
const dirCacheEntries = 1 << 17

func newDirCache(max int) *dirCache {
	c := &dirCache{max: max, byPath: map[string]*list.Element{}}
	c.acct = membudget.Default.Open("guest listings (FAT, ISO)", c.shed)
	return c
}

// shed drops the colder half of the listings, or all of them.
func (c *dirCache) shed(all bool) {
	c.mu.Lock()
	keep := 0
	if !all {
		keep = c.lru.Len() / 2
	}
	var freed int64
	for c.lru.Len() > keep {
		freed += c.dropLocked()
	}
	c.mu.Unlock()
	c.acct.Add(-freed)
}

// dropLocked drops the least recently used listing, returning its bytes.
func (c *dirCache) dropLocked() int64 {
	old := c.lru.Back()
	d := old.Value.(*cachedDir)
	c.lru.Remove(old)
	delete(c.byPath, d.path)
	c.entries -= max(len(d.ents), 1)
	return cachedBytes(d)
}

// get returns the listing of dir if it is held. The slice is shared: the
// caller must not change it.
func (c *dirCache) get(dir string) ([]fs.DirEntry, bool) {
	c.mu.Lock()
	e, ok := c.byPath[dir]
	if !ok {
		c.mu.Unlock()
		return nil, false
	}
	c.lru.MoveToFront(e)
	ents := e.Value.(*cachedDir).ents
	c.mu.Unlock()
	c.acct.Touch()
	return ents, true
}

// put holds the listing of dir, dropping the least recently used ones
// while the cache holds too many entries. A listing larger than the whole
// cache is not held.
func (c *dirCache) put(dir string, ents []fs.DirEntry) {
	n := max(len(ents), 1) // an empty directory still costs a slot
	c.mu.Lock()
	if n > c.max {
		c.mu.Unlock()
		return
	}
	if e, ok := c.byPath[dir]; ok {
		c.lru.MoveToFront(e)
		c.mu.Unlock()
		return
	}
	var delta int64
	for c.entries+n > c.max && c.lru.Len() > 0 {
		delta -= c.dropLocked()
	}
	d := &cachedDir{path: dir, ents: ents}
	c.byPath[dir] = c.lru.PushFront(d)
	c.entries += n
	delta += cachedBytes(d)
	c.mu.Unlock()
	if c.acct.Add(delta) {
		c.acct.Trim()
	}
}
