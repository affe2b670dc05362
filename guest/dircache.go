package guest

import (
	"container/list"
	"io/fs"
	"sync"
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
}

type cachedDir struct {
	path string
	ents []fs.DirEntry
}

// dirCacheEntries bounds a volume's cache: some 200 bytes an entry, so
// about 25 MiB, and more than any one directory a listing may hold.
const dirCacheEntries = 1 << 17

func newDirCache(max int) *dirCache {
	return &dirCache{max: max, byPath: map[string]*list.Element{}}
}

// get returns the listing of dir if it is held. The slice is shared: the
// caller must not change it.
func (c *dirCache) get(dir string) ([]fs.DirEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byPath[dir]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*cachedDir).ents, true
}

// put holds the listing of dir, dropping the least recently used ones
// while the cache holds too many entries. A listing larger than the whole
// cache is not held.
func (c *dirCache) put(dir string, ents []fs.DirEntry) {
	n := max(len(ents), 1) // an empty directory still costs a slot
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > c.max {
		return
	}
	if e, ok := c.byPath[dir]; ok {
		c.lru.MoveToFront(e)
		return
	}
	for c.entries+n > c.max {
		old := c.lru.Back()
		d := old.Value.(*cachedDir)
		c.lru.Remove(old)
		delete(c.byPath, d.path)
		c.entries -= max(len(d.ents), 1)
	}
	c.byPath[dir] = c.lru.PushFront(&cachedDir{path: dir, ents: ents})
	c.entries += n
}
