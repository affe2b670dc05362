package ntfs

import (
	"container/list"
	"sync"

	"github.com/ckptfs/ckptfs/internal/gencache"
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
type nodeCache = gencache.Cache[uint64, *node]

func newNodeCache(max int) *nodeCache {
	return gencache.New[uint64, *node](max/2, func(*node) int { return 1 })
}

// indexKey names one INDX record: the directory's MFT record and the VCN.
type indexKey struct{ rec, vcn uint64 }
