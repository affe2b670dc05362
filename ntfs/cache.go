package ntfs

import (
	"container/list"
	"sync"

	"github.com/ckptfs/ckptfs/internal/gencache"
	"github.com/ckptfs/ckptfs/internal/membudget"
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

	acct *membudget.Account // nil: no budget (see budget.go)
	size func(V) int64
}

// lruEntryBytes is what an entry costs beside its value: the list
// element, the item and the map slot.
const lruEntryBytes = 160

// budget opens an account for the cache with b (see gencache.Budget).
func (c *lru[K, V]) budget(b *membudget.Budget, name string, size func(V) int64) {
	c.size = size
	c.acct = b.Open(name, c.shed)
}

// shed drops the colder half of the entries, or all of them.
func (c *lru[K, V]) shed(all bool) {
	c.mu.Lock()
	keep := 0
	if !all {
		keep = c.order.Len() / 2
	}
	freed := c.evictLocked(keep)
	c.mu.Unlock()
	c.acct.Add(-freed)
}

// evictLocked drops the least recently used entries until keep are left,
// returning the bytes freed.
func (c *lru[K, V]) evictLocked(keep int) int64 {
	var freed int64
	for c.order.Len() > keep {
		last := c.order.Back()
		it := last.Value.(*lruItem[K, V])
		c.order.Remove(last)
		delete(c.items, it.key)
		if c.acct != nil {
			freed += c.size(it.val) + lruEntryBytes
		}
	}
	return freed
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
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		v := e.Value.(*lruItem[K, V]).val
		c.mu.Unlock()
		c.acct.Touch()
		return v, true
	}
	c.mu.Unlock()
	var zero V
	return zero, false
}

func (c *lru[K, V]) put(k K, v V) {
	c.mu.Lock()
	var delta int64
	if c.acct != nil {
		delta = c.size(v) + lruEntryBytes
	}
	if e, ok := c.items[k]; ok {
		it := e.Value.(*lruItem[K, V])
		if c.acct != nil {
			delta -= c.size(it.val) + lruEntryBytes
		}
		it.val = v
		c.order.MoveToFront(e)
	} else {
		c.items[k] = c.order.PushFront(&lruItem[K, V]{key: k, val: v})
	}
	delta -= c.evictLocked(c.max)
	c.mu.Unlock()
	if c.acct.Add(delta) {
		c.acct.Trim()
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
