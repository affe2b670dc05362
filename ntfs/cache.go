package ntfs

import (
	"container/list"
	"sync"
)

// Bounds of the decoded-structure caches, per volume.
const (
	nodeCacheSize  = 4096 // MFT records
	indexCacheSize = 1024 // INDX records (4 KiB each on disk)
)

// lru is a small least-recently-used cache, safe for concurrent use. It
// keeps path walks, repeated stats and lookups in big directories from
// re-reading and re-decoding the same records.
type lru[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used; values are *lruItem
	items map[K]*list.Element
}

type lruItem[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, order: list.New(), items: map[K]*list.Element{}}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*lruItem[K, V]).val, true
	}
	var zero V
	return zero, false
}

func (c *lru[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		e.Value.(*lruItem[K, V]).val = v
		c.order.MoveToFront(e)
		return
	}
	c.items[k] = c.order.PushFront(&lruItem[K, V]{key: k, val: v})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruItem[K, V]).key)
	}
}

// nodeCache keeps decoded MFT records by record number: two generations
// of max/2 (a walk looks up every entry once or twice, and a cache that
// keeps no order costs it less).
type nodeCache = genCache[uint64, *node]

func newNodeCache(max int) *nodeCache {
	return newGenCache[uint64, *node](max/2, func(*node) int { return 1 })
}

// indexKey names one INDX record: the directory's MFT record and the VCN.
type indexKey struct{ rec, vcn uint64 }

// genCache keeps recently used values in two generations: when the newer
// one holds max weight, it becomes the older and the older is dropped; a
// hit in the older moves the value up. A get is one map lookup (no list
// to keep in order), so the caches a walk hits for every entry cost
// little, and memory stays bounded. weight says what a value costs.
type genCache[K comparable, V any] struct {
	mu       sync.Mutex
	max      int
	weight   func(V) int
	n        int // weight held in cur
	cur, old map[K]V
}

func newGenCache[K comparable, V any](max int, weight func(V) int) *genCache[K, V] {
	return &genCache[K, V]{max: max, weight: weight}
}

func (c *genCache[K, V]) get(k K) (V, bool) {
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

// has reports whether k is cached, without moving it up.
func (c *genCache[K, V]) has(k K) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur[k]; ok {
		return true
	}
	_, ok := c.old[k]
	return ok
}

func (c *genCache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, v)
}

func (c *genCache[K, V]) putLocked(k K, v V) {
	w := c.weight(v)
	if c.cur == nil || c.n+w > c.max {
		c.old, c.cur, c.n = c.cur, map[K]V{}, 0
	}
	c.cur[k] = v
	c.n += w
}
