package ntfs

import (
	"container/list"
	"sync"
)

// nodeCacheSize bounds how many decoded files are kept.
const nodeCacheSize = 4096

// nodeCache is a small LRU of decoded MFT records keyed by record number,
// so path walks and repeated stats do not re-read and re-decode records.
type nodeCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used; values are *cacheItem
	items map[uint64]*list.Element
}

type cacheItem struct {
	num uint64
	n   *node
}

func newNodeCache(max int) *nodeCache {
	return &nodeCache{max: max, order: list.New(), items: map[uint64]*list.Element{}}
}

func (c *nodeCache) get(num uint64) *node {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[num]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*cacheItem).n
	}
	return nil
}

func (c *nodeCache) put(num uint64, n *node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[num]; ok {
		e.Value.(*cacheItem).n = n
		c.order.MoveToFront(e)
		return
	}
	c.items[num] = c.order.PushFront(&cacheItem{num: num, n: n})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheItem).num)
	}
}
