// Package lrucache is the least-recently-used cache the readers keep
// where the order of use matters (NTFS index records and WOF chunks, a
// chain's run lists, listings of go-diskfs volumes): bounded by a total
// weight (1 an entry, or its runs or names), and optionally counted in a
// process-wide memory budget (internal/membudget), which may ask it to
// shed its colder half or everything. For caches a walk hits for every
// entry, internal/gencache costs less.
package lrucache

import (
	"container/list"
	"sync"

	"github.com/ckptfs/ckptfs/internal/membudget"
)

// entryBytes is what an entry costs beside its value: the list element,
// the item and the map slot.
const entryBytes = 160

// Cache is a least-recently-used cache of values of K by key, holding at
// most max weight. It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	mu     sync.Mutex
	max    int
	weight func(V) int
	used   int       // weight held
	order  list.List // front: most recently used; values are *item
	items  map[K]*list.Element

	acct *membudget.Account // nil: no budget
	size func(V) int64
}

type item[K comparable, V any] struct {
	key K
	val V
	w   int
}

// New makes a cache holding at most max weight; weight says what a value
// costs (at least 1 is counted for each).
func New[K comparable, V any](max int, weight func(V) int) *Cache[K, V] {
	return &Cache[K, V]{max: max, weight: weight, items: map[K]*list.Element{}}
}

// Budget opens an account for the cache with b, named name; size says
// how many bytes a value holds. Call it before the cache is used. It
// returns c.
func (c *Cache[K, V]) Budget(b *membudget.Budget, name string, size func(V) int64) *Cache[K, V] {
	c.size = size
	c.acct = b.Open(name, c.shed)
	return c
}

// Get returns the value of k and whether it was cached, making it the
// most recently used.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	e, ok := c.items[k]
	if !ok {
		c.mu.Unlock()
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	v := e.Value.(*item[K, V]).val
	c.mu.Unlock()
	c.acct.Touch()
	return v, true
}

// Put caches v as the value of k, replacing what k held, and drops the
// least recently used entries past the bound. A value heavier than the
// whole bound is not kept.
func (c *Cache[K, V]) Put(k K, v V) {
	w := max(c.weight(v), 1)
	c.mu.Lock()
	var delta int64
	if e, ok := c.items[k]; ok {
		delta -= c.dropLocked(e)
	}
	if w <= c.max {
		for c.used+w > c.max && c.order.Len() > 0 {
			delta -= c.dropLocked(c.order.Back())
		}
		c.items[k] = c.order.PushFront(&item[K, V]{key: k, val: v, w: w})
		c.used += w
		delta += c.bytes(v)
	}
	c.mu.Unlock()
	if c.acct.Add(delta) {
		c.acct.Trim()
	}
}

// Len returns the number of entries held.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// shed drops the colder half of the entries, or all of them.
func (c *Cache[K, V]) shed(all bool) {
	c.mu.Lock()
	keep := 0
	if !all {
		keep = c.order.Len() / 2
	}
	var freed int64
	for c.order.Len() > keep {
		freed += c.dropLocked(c.order.Back())
	}
	c.mu.Unlock()
	c.acct.Add(-freed)
}

// dropLocked removes the entry e, returning the bytes it held.
func (c *Cache[K, V]) dropLocked(e *list.Element) int64 {
	it := e.Value.(*item[K, V])
	c.order.Remove(e)
	delete(c.items, it.key)
	c.used -= it.w
	return c.bytes(it.val)
}

// bytes is what an entry of v costs in the budget (0 without one).
func (c *Cache[K, V]) bytes(v V) int64 {
	if c.acct == nil {
		return 0
	}
	return c.size(v) + entryBytes
}

// Clear drops every value.
func (c *Cache[K, V]) Clear() { c.shed(true) }

// Bytes returns the bytes the cache holds by its own account (0 without
// one).
func (c *Cache[K, V]) Bytes() int64 {
	if c.acct == nil {
		return 0
	}
	return c.acct.Held()
}
