// Package gencache is the bounded cache the readers keep decoded records,
// listings and blocks in: two generations of maps. When the newer holds
// its bound of weight it becomes the older and the older is dropped; a
// hit in the older moves the value up. A Get is a map lookup or two, with
// no list to keep in order, so the caches a walk hits for every entry cost
// little, and memory stays bounded whatever a volume holds (at most twice
// the bound, the two generations).
package gencache

import "sync"

// Cache is a two-generation cache of values of K by key. It is safe for
// concurrent use.
type Cache[K comparable, V any] struct {
	mu       sync.Mutex
	max      int
	weight   func(V) int
	n        int // weight held in cur
	cur, old map[K]V
}

// New makes a cache whose generations hold max weight each; weight says
// what a value costs (1 for a block, its entries for a listing).
func New[K comparable, V any](max int, weight func(V) int) *Cache[K, V] {
	return &Cache[K, V]{max: max, weight: weight}
}

// Get returns the value of k and whether it was cached.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.cur[k]; ok {
		return v, true
	}
	v, ok := c.old[k]
	if ok {
		delete(c.old, k)
		c.putLocked(k, v)
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
	defer c.mu.Unlock()
	c.putLocked(k, v)
}

func (c *Cache[K, V]) putLocked(k K, v V) {
	w := c.weight(v)
	if c.cur == nil || c.n+w > c.max {
		c.old, c.cur, c.n = c.cur, map[K]V{}, 0
	}
	c.cur[k] = v
	c.n += w
}
