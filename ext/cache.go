package ext

import "sync"

// genCache keeps recently used values in two generations: when the newer
// one holds max weight, it becomes the older and the older is dropped; a
// hit in the older moves the value up. Reads of a walk stay cheap and the
// memory stays bounded whatever the volume holds. weight says what a
// value costs (1 for an inode-table chunk, its entries for a listing).
type genCache[K comparable, V any] struct {
	mu       sync.Mutex
	max      int
	weight   func(V) int
	n        int // weight held in cur
	cur, old map[K]V
}

func (c *genCache[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.cur[k]; ok {
		return v, true
	}
	v, ok := c.old[k]
	if ok {
		c.putLocked(k, v)
	}
	return v, ok
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
