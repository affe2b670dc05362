package ntfs

import (
	"github.com/ckptfs/ckptfs/internal/gencache"
	"github.com/ckptfs/ckptfs/internal/lrucache"
)

// Bounds of the decoded-structure caches, per volume.
const (
	nodeCacheSize  = 4096 // MFT records
	indexCacheSize = 1024 // INDX records (4 KiB each on disk)
)

// lru is the least-recently-used cache of INDX records and WOF chunks,
// one entry of weight 1 each: it keeps path walks, repeated stats and
// lookups in big directories from re-reading and re-decoding the same
// records.
type lru[K comparable, V any] = lrucache.Cache[K, V]

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return lrucache.New[K, V](max, func(V) int { return 1 })
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
