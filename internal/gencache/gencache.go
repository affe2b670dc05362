// Package gencache is the bounded cache the readers keep decoded records,
// listings and blocks in: two generations of maps. When the newer holds
// its bound of weight it becomes the older and the older is dropped; a
// hit in the older moves the value up. A Get is a map lookup or two, with
// no list to keep in order, so the caches a walk hits for every entry cost
// little, and memory stays bounded whatever a volume holds (at most twice
// the bound, the two generations).
//
// A cache with an account (Budget) also reports the bytes it holds to a
// process-wide membudget.Budget, which makes the coldest caches shed
// their older generation, or all they hold, when the caches of every
// volume together pass the budget's limit.
package gencache

import (
	"sync"

	"github.com/ckptfs/ckptfs/internal/membudget"
)

// Cache is a two-generation cache of values of K by key. It is safe for
// concurrent use.
type Cache[K comparable, V any] struct {
	mu       sync.Mutex
	max      int
	weight   func(V) int
	n        int // weight held in cur
	cur, old map[K]V

	acct               *membudget.Account // nil: no budget
	size               func(V) int64
	curBytes, oldBytes int64
}

// entryBytes is what a map entry costs beside its value's own bytes: the
// key and value words, the map's slot overhead and its spare slots.
const entryBytes = 64

// New makes a cache whose generations hold max weight each; weight says
// what a value costs (1 for a block, its entries for a listing).
func New[K comparable, V any](max int, weight func(V) int) *Cache[K, V] {
	return &Cache[K, V]{max: max, weight: weight}
}

// Budget opens an account for the cache with b, named name; size says
// how many bytes a value holds (its own allocations, not the map entry).
// Call it before the cache is used. It returns c.
func (c *Cache[K, V]) Budget(b *membudget.Budget, name string, size func(V) int64) *Cache[K, V] {
	c.size = size
	c.acct = b.Open(name, c.shed)
	return c
}

// Get returns the value of k and whether it was cached.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	if v, ok := c.cur[k]; ok {
		c.mu.Unlock()
		c.acct.Touch()
		return v, true
	}
	v, ok := c.old[k]
	over := false
	if ok {
		delete(c.old, k)
		if c.acct != nil {
			c.oldBytes -= c.size(v) + entryBytes
		}
		over = c.putLocked(k, v, false)
	}
	c.mu.Unlock()
	if ok {
		c.acct.Touch()
	}
	if over {
		c.acct.Trim()
	}
	return v, ok
}

// Has reports whether k is cached, without moving it up.
func (c *Cache[K, V]) Has(k K) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur[k]; ok {
		return true
	}
	_, ok := c.old[k]
	return ok
}

// Put caches v as the value of k.
func (c *Cache[K, V]) Put(k K, v V) {
	c.mu.Lock()
	over := c.putLocked(k, v, true)
	c.mu.Unlock()
	if over {
		c.acct.Trim()
	}
}

// putLocked adds k to cur; fresh says v is new to the cache (not moved
// up from old), and its bytes new to the budget. It reports whether the
// budget is over its limit.
func (c *Cache[K, V]) putLocked(k K, v V, fresh bool) (over bool) {
	w := c.weight(v)
	var delta int64
	if c.cur == nil || c.n+w > c.max {
		delta -= c.oldBytes
		c.old, c.cur, c.n = c.cur, map[K]V{}, 0
		c.oldBytes, c.curBytes = c.curBytes, 0
	}
	if c.acct != nil {
		sz := c.size(v) + entryBytes
		if prev, ok := c.cur[k]; ok {
			sz -= c.size(prev) + entryBytes // replaced
		}
		c.curBytes += sz
		if fresh { // a value moved up from old is counted already
			delta += sz
		}
	}
	c.cur[k] = v
	c.n += w
	if c.acct == nil {
		return false
	}
	return c.acct.Add(delta)
}

// shed drops the older generation, or everything when all is set (see
// membudget.Budget.Open).
func (c *Cache[K, V]) shed(all bool) {
	c.mu.Lock()
	freed := c.oldBytes
	c.old, c.oldBytes = nil, 0
	if all {
		freed += c.curBytes
		c.cur, c.curBytes, c.n = nil, 0, 0
	}
	c.mu.Unlock()
	c.acct.Add(-freed)
}

// Clear drops every value.
func (c *Cache[K, V]) Clear() { c.shed(true) }

// Bytes returns the bytes the cache holds by its own account (0 without
// one).
func (c *Cache[K, V]) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.curBytes + c.oldBytes
}
