package btrfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"unsafe"

	"github.com/ckptfs/ckptfs/internal/gencache"
	"github.com/ckptfs/ckptfs/internal/membudget"
)

const (
	keySize    = 17
	headerSize = 0x65
	itemSize   = 25 // btrfs_item: key, data offset, data size
	ptrSize    = 33 // btrfs_key_ptr: key, block pointer, generation
	maxLevel   = 8  // BTRFS_MAX_LEVEL
	// cacheBytes bounds the tree nodes one volume keeps: a mount may open
	// the same filesystem in many checkpoints at once.
	cacheBytes = 16 << 20
)

// key is a btrfs_disk_key: items in every tree are sorted by it.
type key struct {
	objectid uint64
	typ      uint8
	offset   uint64
}

func parseKey(b []byte) key {
	le := binary.LittleEndian
	return key{objectid: le.Uint64(b), typ: b[8], offset: le.Uint64(b[9:])}
}

func (k key) cmp(o key) int {
	switch {
	case k.objectid != o.objectid:
		return cmpU64(k.objectid, o.objectid)
	case k.typ != o.typ:
		return cmpU64(uint64(k.typ), uint64(o.typ))
	default:
		return cmpU64(k.offset, o.offset)
	}
}

func cmpU64(a, b uint64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// node is one checked tree block.
type node struct {
	b     []byte
	level uint8
	n     int
	gen   uint64
}

func (n *node) key(i int) key {
	if n.level == 0 {
		return parseKey(n.b[headerSize+i*itemSize:])
	}
	return parseKey(n.b[headerSize+i*ptrSize:])
}

// item returns the data of leaf item i.
func (n *node) item(i int) []byte {
	p := n.b[headerSize+i*itemSize+keySize:]
	off := binary.LittleEndian.Uint32(p)
	size := binary.LittleEndian.Uint32(p[4:])
	return n.b[headerSize+int(off) : headerSize+int(off)+int(size)]
}

// child returns the block pointer and generation of slot i of an inner node.
func (n *node) child(i int) (uint64, uint64) {
	p := n.b[headerSize+i*ptrSize+keySize:]
	return binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint64(p[8:])
}

// nodeCache keeps checked nodes by logical address, in two generations
// (internal/gencache: a hit is a map lookup, no per-entry bookkeeping
// slows it), their bytes counted in the process-wide memory budget
// (internal/membudget). The zero value caches nothing.
type nodeCache struct {
	c *gencache.Cache[uint64, *node]
}

// cacheBudget is the budget the node caches count their bytes in.
var cacheBudget = membudget.Default

func newNodeCache(max int) nodeCache {
	return nodeCache{gencache.New[uint64, *node](max/2, func(*node) int { return 1 }).
		Budget(cacheBudget, "btrfs tree nodes", func(n *node) int64 { return int64(cap(n.b)) + int64(unsafe.Sizeof(node{})) })}
}

func (c nodeCache) get(logical uint64) *node {
	if c.c == nil {
		return nil
	}
	n, _ := c.c.Get(logical)
	return n
}

func (c nodeCache) put(logical uint64, n *node) {
	if c.c != nil {
		c.c.Put(logical, n)
	}
}

// readNode reads and checks the tree block at logical, which its parent
// says has the given level and generation. Each copy (DUP, RAID1,
// RAID10; a RAID5/6 rebuild) is tried in turn until one checks out.
func (v *Volume) readNode(logical uint64, level uint8, gen uint64) (*node, error) {
	if n := v.cache.get(logical); n != nil {
		if n.level != level || n.gen != gen {
			return nil, formatErr(-1, "tree block 0x%x: level %d generation %d, parent expects %d and %d", logical, n.level, n.gen, level, gen)
		}
		return n, nil
	}
	ns := int(v.sb.nodeSize)
	var firstErr error
	for m := range v.chunks.copies(logical) {
		b := make([]byte, ns)
		err := v.chunks.readCopy(b, logical, m)
		var n *node
		if err == nil {
			n, err = v.checkNode(b, logical, v.chunks.offsetOf(logical, m), level, gen)
		}
		if err == nil {
			v.cache.put(logical, n)
			return n, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// at is byte o of a structure at device offset p, or -1 (unknown) when p
// is: a block read from another device or rebuilt from parity.
func at(p, o int64) int64 {
	if p < 0 {
		return -1
	}
	return p + o
}

// checkNode validates a tree block read at device offset p (-1 when not
// on the first device in one run): checksum,
// address, filesystem, level, generation, item table and key order.
func (v *Volume) checkNode(b []byte, logical uint64, p int64, level uint8, gen uint64) (*node, error) {
	le := binary.LittleEndian
	if !csumOK(v.sb.csumType, b[:32], b[0x20:]) {
		return nil, kindErr(ErrChecksum, p, "tree block 0x%x %s checksum", logical, csumName(v.sb.csumType))
	}
	if got := le.Uint64(b[0x30:]); got != logical {
		return nil, formatErr(at(p, 0x30), "tree block 0x%x says it is 0x%x", logical, got)
	}
	if !bytes.Equal(b[0x20:0x30], v.sb.metadataUUID[:]) {
		return nil, formatErr(at(p, 0x20), "tree block 0x%x belongs to another filesystem", logical)
	}
	n := &node{b: b, level: b[0x64], n: int(le.Uint32(b[0x60:])), gen: le.Uint64(b[0x50:])}
	if n.level != level {
		return nil, formatErr(at(p, 0x64), "tree block 0x%x has level %d, expected %d", logical, n.level, level)
	}
	if n.gen != gen {
		return nil, formatErr(at(p, 0x50), "tree block 0x%x has generation %d, parent says %d", logical, n.gen, gen)
	}
	room := len(b) - headerSize
	per := itemSize
	if level > 0 {
		per = ptrSize
	}
	if n.n > room/per || level > 0 && n.n == 0 {
		return nil, formatErr(at(p, 0x60), "tree block 0x%x holds %d items", logical, n.n)
	}
	for i := range n.n {
		if i > 0 && n.key(i-1).cmp(n.key(i)) >= 0 {
			return nil, formatErr(at(p, int64(headerSize+i*per)), "tree block 0x%x: keys out of order at slot %d", logical, i)
		}
		if level == 0 {
			q := b[headerSize+i*itemSize+keySize:]
			off, size := int(le.Uint32(q)), int(le.Uint32(q[4:]))
			if off < n.n*itemSize || off > room || size > room-off {
				return nil, formatErr(at(p, int64(headerSize+i*itemSize)), "tree block 0x%x: item %d data at %d+%d", logical, i, off, size)
			}
		}
	}
	return n, nil
}

// root names a tree by its root block.
type root struct {
	bytenr uint64
	level  uint8
	gen    uint64
	// patch, when set, is what a log replay changed in the tree (see
	// logreplay.go); walks merge it in.
	patch *patch
}

// errStop ends a walk early without error.
var errStop = errors.New("stop")

// walk calls fn for every leaf item with min <= key <= max, in key order.
// fn returns errStop to end the walk. Keys are checked to grow strictly
// across the walk (every child starts at its parent's key and stays below
// the next one), so a block referenced twice or a cycle cannot repeat
// work: the walk visits each block at most once.
func (v *Volume) walk(r root, min, max key, fn func(k key, data []byte) error) error {
	if r.patch != nil {
		return v.walkPatched(r, min, max, fn)
	}
	if r.level >= maxLevel {
		return kindErr(ErrLoop, -1, "tree root 0x%x at level %d", r.bytenr, r.level)
	}
	err := v.walkNode(r.bytenr, r.level, r.gen, nil, nil, min, max, fn)
	if err == errStop {
		return nil
	}
	return err
}

func (v *Volume) walkNode(logical uint64, level uint8, gen uint64, lo, hi *key, min, max key, fn func(key, []byte) error) error {
	n, err := v.readNode(logical, level, gen)
	if err != nil {
		return err
	}
	if n.n > 0 {
		if lo != nil && n.key(0).cmp(*lo) != 0 {
			return formatErr(-1, "tree block 0x%x does not start at its parent's key", logical)
		}
		if hi != nil && n.key(n.n-1).cmp(*hi) >= 0 {
			return formatErr(-1, "tree block 0x%x runs past its parent's next key", logical)
		}
	}
	if level == 0 {
		i := searchNode(n, min)
		for ; i < n.n; i++ {
			k := n.key(i)
			if k.cmp(max) > 0 {
				return errStop
			}
			if err := fn(k, n.item(i)); err != nil {
				return err
			}
		}
		return nil
	}
	// The child that may hold min is the last one whose key is <= min.
	i := searchNode(n, min)
	if i == n.n || n.key(i).cmp(min) > 0 {
		i--
	}
	i = max0(i)
	for ; i < n.n; i++ {
		k := n.key(i)
		if k.cmp(max) > 0 {
			return errStop
		}
		var next *key
		if i+1 < n.n {
			nk := n.key(i + 1)
			next = &nk
		} else {
			next = hi
		}
		ptr, cgen := n.child(i)
		if err := v.walkNode(ptr, level-1, cgen, &k, next, min, max, fn); err != nil {
			return err
		}
	}
	return nil
}

func max0(i int) int {
	if i < 0 {
		return 0
	}
	return i
}

// searchNode returns the first slot whose key is >= k.
func searchNode(n *node, k key) int {
	lo, hi := 0, n.n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if n.key(m).cmp(k) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// lookup returns the data of the item with key k exactly.
func (v *Volume) lookup(r root, k key) ([]byte, error) {
	var out []byte
	err := v.walk(r, k, k, func(_ key, d []byte) error {
		out = d
		return errStop
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, errNotFound
	}
	return out, nil
}
