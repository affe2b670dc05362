package ntfs

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// maxIndexDepth bounds the height of a directory B+ tree. Real trees are a
// handful of levels; anything deeper is a cycle or garbage.
const maxIndexDepth = 32

// Index entry flags.
const (
	entrySubnode uint16 = 1
	entryLast    uint16 = 2
)

// indexEntry is one entry of a directory index node.
type indexEntry struct {
	Ref    Ref
	Key    []byte // the $FILE_NAME value, empty in the last entry
	Sub    uint64 // VCN of the child node, valid when HasSub
	HasSub bool
	Last   bool
	Off    int64
}

// dirIndex is the $I30 index of one directory.
type dirIndex struct {
	v       *Volume
	rec     uint64
	root    []indexEntry
	alloc   *stream // $INDEX_ALLOCATION, nil for a small directory
	recSize int64   // bytes per INDX record
	vcnSize int64   // bytes per index VCN
}

// index returns the $I30 index of directory n, prepared once per decoded
// node: every lookup in a directory would otherwise re-parse its root and
// rebuild the runlist of its $INDEX_ALLOCATION.
func (n *node) index() (*dirIndex, error) {
	n.ixOnce.Do(func() { n.ix, n.ixErr = n.v.openIndex(n) })
	return n.ix, n.ixErr
}

// openIndex prepares the $I30 index of directory n.
func (v *Volume) openIndex(n *node) (*dirIndex, error) {
	roots := pieces(n.attrs, attrIndexRoot, "$I30")
	if len(roots) != 1 || roots[0].NonResident {
		return nil, formatErr(-1, "directory record %d has no usable $INDEX_ROOT", n.info.Ref.Record)
	}
	root := roots[0]
	b := root.Value
	if len(b) < 0x20 {
		return nil, formatErr(root.Off, "$INDEX_ROOT of %d bytes", len(b))
	}
	ix := &dirIndex{v: v, rec: n.info.Ref.Record}
	ix.recSize = int64(binary.LittleEndian.Uint32(b[8:]))
	if ix.recSize < 512 || ix.recSize > 64<<10 || ix.recSize&(ix.recSize-1) != 0 {
		return nil, formatErr(root.Off, "index record size %d", ix.recSize)
	}
	// Index VCNs count clusters, unless an index record is smaller than a
	// cluster; then they count 512-byte blocks.
	ix.vcnSize = int64(v.geo.ClusterSize)
	if ix.recSize < ix.vcnSize {
		ix.vcnSize = 512
	}
	var err error
	if ix.root, err = parseNode(b, 0x10, root.Off); err != nil {
		return nil, fmt.Errorf("directory record %d: $INDEX_ROOT: %w", ix.rec, err)
	}
	if allocs := pieces(n.attrs, attrIndexAlloc, "$I30"); len(allocs) > 0 {
		if ix.alloc, err = newStream(v.r, int64(v.geo.ClusterSize), allocs); err != nil {
			return nil, fmt.Errorf("directory record %d: $INDEX_ALLOCATION: %w", ix.rec, err)
		}
	}
	return ix, nil
}

// parseNode decodes the entries of the index node whose header starts at
// b[h]. off is b's offset in the volume.
func parseNode(b []byte, h int, off int64) ([]indexEntry, error) {
	if h+16 > len(b) {
		return nil, formatErr(off, "index node header truncated")
	}
	start := h + int(binary.LittleEndian.Uint32(b[h:]))
	end := h + int(binary.LittleEndian.Uint32(b[h+4:]))
	if start < h+16 || end > len(b) || start > end {
		return nil, formatErr(off+int64(h), "index entries span %d..%d of a %d-byte node", start, end, len(b))
	}
	// Room for the entries a node of this size holds when its names are
	// short (an entry takes 16 bytes, its $FILE_NAME 66 and the name):
	// growing the slice entry by entry was most of what decoding a node
	// cost.
	out := make([]indexEntry, 0, (end-start)/96+1)
	for pos := start; ; {
		if pos+16 > end {
			return nil, formatErr(off+int64(pos), "index node ends without a last entry")
		}
		l := int(binary.LittleEndian.Uint16(b[pos+8:]))
		kl := int(binary.LittleEndian.Uint16(b[pos+10:]))
		fl := binary.LittleEndian.Uint16(b[pos+12:])
		if l < 16 || l%8 != 0 || pos+l > end || 16+kl > l {
			return nil, formatErr(off+int64(pos), "index entry of length %d (key %d)", l, kl)
		}
		e := indexEntry{
			Ref:  refFrom(binary.LittleEndian.Uint64(b[pos:])),
			Last: fl&entryLast != 0,
			Off:  off + int64(pos),
		}
		if fl&entrySubnode != 0 {
			if l < 24 || (!e.Last && 16+kl > l-8) {
				return nil, formatErr(e.Off, "index entry too short for its child pointer")
			}
			e.Sub, e.HasSub = binary.LittleEndian.Uint64(b[pos+l-8:]), true
		}
		if !e.Last {
			e.Key = b[pos+16 : pos+16+kl]
		}
		out = append(out, e)
		if e.Last {
			return out, nil
		}
		pos += l
	}
}

// node returns the entries of the INDX record at vcn, decoded once and
// then kept in the volume's index cache. Callers must not modify them.
func (ix *dirIndex) node(vcn uint64) ([]indexEntry, error) {
	key := indexKey{ix.rec, vcn}
	if es, ok := ix.v.indexes.Get(key); ok {
		return es, nil
	}
	es, err := ix.readNode(vcn)
	if err == nil {
		ix.v.indexes.Put(key, es)
	}
	return es, err
}

// readNode reads and decodes the INDX record at vcn.
func (ix *dirIndex) readNode(vcn uint64) ([]indexEntry, error) {
	pos, err := ix.nodePos(vcn)
	if err != nil {
		return nil, err
	}
	b := make([]byte, ix.recSize)
	if _, err := ix.alloc.ReadAt(b, pos); err != nil {
		if err == io.EOF {
			err = kindErr(ErrRange, -1, "index record at VCN %d is truncated", vcn)
		}
		return nil, fmt.Errorf("directory record %d: %w", ix.rec, err)
	}
	return ix.decodeNode(b, vcn, pos)
}

// nodePos is the byte offset of the INDX record at vcn in the allocation.
func (ix *dirIndex) nodePos(vcn uint64) (int64, error) {
	if ix.alloc == nil {
		return 0, formatErr(-1, "directory record %d points to index VCN %d but has no $INDEX_ALLOCATION", ix.rec, vcn)
	}
	if vcn > uint64(ix.alloc.size/ix.vcnSize) {
		return 0, kindErr(ErrRange, -1, "directory record %d: index VCN %d past its allocation", ix.rec, vcn)
	}
	return int64(vcn) * ix.vcnSize, nil
}

// decodeNode checks and decodes the INDX record b read from pos, the
// record at vcn. It fixes b up in place and keeps slices of it.
func (ix *dirIndex) decodeNode(b []byte, vcn uint64, pos int64) ([]indexEntry, error) {
	off := ix.alloc.volOffset(pos)
	if string(b[:4]) != "INDX" {
		return nil, formatErr(off, "directory record %d: index record at VCN %d has signature %q", ix.rec, vcn, b[:4])
	}
	if err := applyFixups(b, off); err != nil {
		return nil, fmt.Errorf("directory record %d: index VCN %d: %w", ix.rec, vcn, err)
	}
	if got := binary.LittleEndian.Uint64(b[0x10:]); got != vcn {
		return nil, formatErr(off+0x10, "index record at VCN %d says it is VCN %d", vcn, got)
	}
	return parseNode(b, 0x18, off)
}

// Reading a whole index at once. A listing visits every node of the
// B+ tree, in key order, which is not their order on disk: read one by
// one, a folder of 100,000 names costs thousands of requests, and one of
// two nodes two requests in a row. So a walk of an index whose
// allocation holds two records or more, and at most maxBulkIndex bytes,
// reads it whole, in one request (a layer below that
// follows streams of reads, as the VHDX chain's read-ahead does, then
// loads that range, not megabytes past it), and decodes the nodes from
// that copy.
const (
	maxBulkIndex = 32 << 20
	minBulkNodes = 2
)

// readAll returns the whole allocation when the walk should read it at
// once, else nil (small, too large, or unreadable: nodes are then read
// one by one, and their errors reported as such).
func (ix *dirIndex) readAll() []byte {
	if ix.alloc == nil || ix.alloc.size < minBulkNodes*ix.recSize || ix.alloc.size > maxBulkIndex {
		return nil
	}
	all := make([]byte, ix.alloc.size)
	if _, err := ix.alloc.ReadAt(all, 0); err != nil && err != io.EOF {
		return nil
	}
	return all
}

// nodeFrom is node, decoding a node missing from the cache out of all
// (the allocation as readAll read it).
func (ix *dirIndex) nodeFrom(all []byte, vcn uint64) ([]indexEntry, error) {
	key := indexKey{ix.rec, vcn}
	if es, ok := ix.v.indexes.Get(key); ok {
		return es, nil
	}
	pos, err := ix.nodePos(vcn)
	if err != nil {
		return nil, err
	}
	if pos+ix.recSize > int64(len(all)) {
		return nil, fmt.Errorf("directory record %d: %w", ix.rec, kindErr(ErrRange, -1, "index record at VCN %d is truncated", vcn))
	}
	// A copy: the cached entries keep slices of it, and must not keep
	// the whole allocation in memory.
	b := slices.Clone(all[pos : pos+ix.recSize])
	es, err := ix.decodeNode(b, vcn, pos)
	if err == nil {
		ix.v.indexes.Put(key, es)
	}
	return es, err
}

// walk calls fn for every entry of the index in collation order.
func (ix *dirIndex) walk(fn func(e *indexEntry) error) error {
	get := ix.node
	if all := ix.readAll(); all != nil {
		get = func(vcn uint64) ([]indexEntry, error) { return ix.nodeFrom(all, vcn) }
	}
	visited := map[uint64]bool{}
	var rec func(entries []indexEntry, depth int) error
	rec = func(entries []indexEntry, depth int) error {
		for i := range entries {
			e := &entries[i]
			if e.HasSub {
				if depth >= maxIndexDepth {
					return kindErr(ErrLoop, e.Off, "directory record %d: index deeper than %d", ix.rec, maxIndexDepth)
				}
				if visited[e.Sub] {
					return kindErr(ErrLoop, e.Off, "directory record %d: index VCN %d reached twice", ix.rec, e.Sub)
				}
				visited[e.Sub] = true
				child, err := get(e.Sub)
				if err != nil {
					return err
				}
				if err := rec(child, depth+1); err != nil {
					return err
				}
			}
			if !e.Last {
				if err := fn(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return rec(ix.root, 0)
}

// lookup descends the B+ tree to the entry whose name collates equal to
// name (UTF-16LE), or returns nil.
func (ix *dirIndex) lookup(name []byte, up []uint16) (*indexEntry, error) {
	return ix.search(name, func(a, b []byte) int { return collate(a, b, up) })
}

// lookupFold finds an entry whose name equals name once both are
// upper-cased through up. Names differing only in case sit next to each
// other in the index order, so one descent finds one of them.
func (ix *dirIndex) lookupFold(name []byte, up []uint16) (*indexEntry, error) {
	return ix.search(name, func(a, b []byte) int { return collateFold(a, b, up) })
}

// search descends the index B+ tree for an entry cmp reports equal to name.
func (ix *dirIndex) search(name []byte, cmp func(a, b []byte) int) (*indexEntry, error) {
	entries := ix.root
	for depth := 0; ; depth++ {
		if depth > maxIndexDepth {
			return nil, kindErr(ErrLoop, -1, "directory record %d: index deeper than %d", ix.rec, maxIndexDepth)
		}
		var down *indexEntry
		for i := range entries {
			e := &entries[i]
			if e.Last {
				down = e
				break
			}
			// Compare the name bytes in place: decoding every key on
			// the way down would allocate a string per comparison.
			raw, err := fileNameRaw(e.Key, e.Off+16)
			if err != nil {
				return nil, err
			}
			c := cmp(name, raw)
			if c == 0 {
				return e, nil
			}
			if c < 0 {
				down = e
				break
			}
		}
		if down == nil || !down.HasSub {
			return nil, nil
		}
		var err error
		if entries, err = ix.node(down.Sub); err != nil {
			return nil, err
		}
	}
}
