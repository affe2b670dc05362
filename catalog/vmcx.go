package catalog

import (
	"encoding/binary"
	"io"
	"math"
	"sort"
	"unicode/utf16"
)

// The Hyper-V 2016+ configuration container (.vmcx, .vmrs, data.vmcx) is a
// small key/value store: two redundant headers at 0 and 0x1000, an object
// table at 0x2000 listing key tables and file objects, and key tables whose
// entries name their parent entry by (table index, offset). The layout was
// learnt from the public description in Fox-IT's dissect.hypervisor
// (descriptor/hyperv.py) and checked against the samples; every field name
// below is ours. Checksums are not verified: their algorithm is not publicly
// described, and a reader that refuses a file it could read helps nobody.
const (
	vmcxSignature      = 0x01282014
	vmcxHeaderSize     = 46 // the header's own checksummed length
	vmcxSecondHeader   = 0x1000
	vmcxObjectTable    = 0x2000
	vmcxObjTableSig    = 0x01110001
	vmcxObjEntrySize   = 18
	vmcxKeyTableSig    = 0x0002
	vmcxKeyTableHeader = 10
	vmcxKeyEntryHeader = 21
	vmcxVersion        = 0x400

	// maxConfigSize bounds what is read into memory. Real configurations
	// are tens of KiB; runtime state files can be larger but we only need
	// their keys.
	maxConfigSize = 64 << 20
	// maxObjectTables bounds the chain of object tables.
	maxObjectTables = 64
	// maxConfigDepth bounds the depth of key trees (and XML nesting).
	maxConfigDepth = 64
)

// Key value types of the container.
const (
	vmcxFree   = 1
	vmcxInt    = 3
	vmcxUint   = 4
	vmcxDouble = 5
	vmcxString = 6
	vmcxArray  = 7
	vmcxBool   = 8
	vmcxNode   = 9

	// vmcxFileObject flags a value stored in a file object (long strings
	// and arrays); the entry then holds a 4-byte size and 8-byte offset.
	vmcxFileObject = 0x01
)

// Object table entry types.
const (
	vmcxObjObjectTable = 1
	vmcxObjKeyTable    = 2
	vmcxObjFile        = 3
)

type vmcxHeader struct {
	seq       uint16
	version   uint32
	alignment uint32
}

type vmcxKeyTable struct {
	off   int64 // file offset of the table
	index uint16
	seq   uint16
	data  []byte
}

type vmcxEntry struct {
	node     *ConfigNode
	parentIx uint16
	parentAt uint32
	seq      uint32
}

// ParseVMCX reads a .vmcx/.vmrs container from r (size bytes long) into a
// tree whose root has the container's top-level keys as children
// (normally one, "configuration").
func ParseVMCX(r io.ReaderAt, size int64) (*ConfigNode, error) {
	if size < vmcxObjectTable+8 {
		return nil, configErr(0, "file too small for a vmcx container (%d bytes)", size)
	}
	if size > maxConfigSize {
		return nil, configErr(0, "file too large for a vmcx container (%d bytes)", size)
	}
	buf := make([]byte, size)
	if _, err := r.ReadAt(buf, 0); err != nil && err != io.EOF {
		return nil, err
	}
	if _, err := vmcxPickHeader(buf); err != nil {
		return nil, err
	}
	tables, files, err := vmcxObjects(buf)
	if err != nil {
		return nil, err
	}
	return vmcxTree(buf, tables, files)
}

// vmcxPickHeader returns the valid header with the higher sequence number.
func vmcxPickHeader(buf []byte) (vmcxHeader, error) {
	var best vmcxHeader
	found := false
	for _, off := range []int{0, vmcxSecondHeader} {
		b := buf[off : off+vmcxHeaderSize]
		if binary.LittleEndian.Uint32(b) != vmcxSignature {
			continue
		}
		h := vmcxHeader{
			seq:       binary.LittleEndian.Uint16(b[8:]),
			version:   binary.LittleEndian.Uint32(b[10:]),
			alignment: binary.LittleEndian.Uint32(b[22:]),
		}
		if !found || h.seq > best.seq {
			best, found = h, true
		}
	}
	if !found {
		return best, configErr(0, "no vmcx header signature")
	}
	if best.version != vmcxVersion {
		// Other versions store their key tables differently (so says the
		// public description); refuse rather than misread.
		return best, configErr(10, "unsupported vmcx version 0x%x", best.version)
	}
	return best, nil
}

// vmcxObjects walks the object tables and returns the newest key table of
// each index and the file objects by offset.
func vmcxObjects(buf []byte) (map[uint16]*vmcxKeyTable, map[int64]int64, error) {
	tables := map[uint16]*vmcxKeyTable{}
	files := map[int64]int64{}
	queue := []int64{vmcxObjectTable}
	seen := map[int64]bool{}
	for len(queue) > 0 {
		off := queue[0]
		queue = queue[1:]
		if seen[off] {
			continue
		}
		if len(seen) >= maxObjectTables {
			return nil, nil, configErr(off, "more than %d object tables", maxObjectTables)
		}
		seen[off] = true
		more, err := vmcxObjectTableAt(buf, off, tables, files)
		if err != nil {
			return nil, nil, err
		}
		queue = append(queue, more...)
	}
	if len(tables) == 0 {
		return nil, nil, configErr(vmcxObjectTable, "no key table")
	}
	return tables, files, nil
}

func vmcxObjectTableAt(buf []byte, off int64, tables map[uint16]*vmcxKeyTable, files map[int64]int64) ([]int64, error) {
	size := int64(len(buf))
	if off < 0 || off > size-8 {
		return nil, configErr(off, "object table outside the file")
	}
	if binary.LittleEndian.Uint32(buf[off:]) != vmcxObjTableSig {
		return nil, configErr(off, "bad object table signature")
	}
	n := int64(binary.LittleEndian.Uint32(buf[off+4:]))
	if n > (size-off-8)/vmcxObjEntrySize {
		return nil, configErr(off+4, "object table count %d exceeds the file", n)
	}
	var more []int64
	for i := int64(0); i < n; i++ {
		e := buf[off+8+i*vmcxObjEntrySize:]
		typ := e[0]
		eoff := binary.LittleEndian.Uint64(e[5:])
		esize := int64(binary.LittleEndian.Uint32(e[13:]))
		if e[17] == 0 {
			continue // not allocated
		}
		at := off + 8 + i*vmcxObjEntrySize
		if eoff > uint64(size) || esize > size-int64(eoff) {
			return nil, configErr(at, "object 0x%x+0x%x outside the file", eoff, esize)
		}
		switch typ {
		case vmcxObjObjectTable:
			more = append(more, int64(eoff))
		case vmcxObjKeyTable:
			if err := vmcxAddKeyTable(buf, int64(eoff), esize, tables); err != nil {
				return nil, err
			}
		case vmcxObjFile:
			files[int64(eoff)] = esize
		}
	}
	return more, nil
}

func vmcxAddKeyTable(buf []byte, off, size int64, tables map[uint16]*vmcxKeyTable) error {
	if size < vmcxKeyTableHeader {
		return configErr(off, "key table of %d bytes", size)
	}
	b := buf[off : off+size]
	if binary.LittleEndian.Uint16(b) != vmcxKeyTableSig {
		return configErr(off, "bad key table signature")
	}
	kt := &vmcxKeyTable{off: off, index: binary.LittleEndian.Uint16(b[2:]),
		seq: binary.LittleEndian.Uint16(b[4:]), data: b}
	if kt.index == 0 {
		// Index 0 is what entries use to say "no parent"; a table with
		// that index could never be referenced.
		return configErr(off+2, "key table index 0")
	}
	if old := tables[kt.index]; old == nil || kt.seq > old.seq {
		tables[kt.index] = kt
	}
	return nil
}

type vmcxRef struct {
	table uint16
	off   uint32
}

// vmcxTree decodes every entry of the active key tables and links each to
// its parent. Every entry has one parent reference, so what hangs below
// the root is a tree whatever the input: a cycle can only form among
// entries that never reach the root, and those are dropped.
func vmcxTree(buf []byte, tables map[uint16]*vmcxKeyTable, files map[int64]int64) (*ConfigNode, error) {
	entries := map[vmcxRef]*vmcxEntry{}
	var order []vmcxRef
	ixs := make([]int, 0, len(tables))
	for ix := range tables {
		ixs = append(ixs, int(ix))
	}
	sort.Ints(ixs)
	for _, ix := range ixs {
		kt := tables[uint16(ix)]
		pos := int64(vmcxKeyTableHeader)
		for pos+vmcxKeyEntryHeader <= int64(len(kt.data)) {
			esize := int64(binary.LittleEndian.Uint32(kt.data[pos+2:]))
			if esize == 0 {
				break
			}
			if esize < vmcxKeyEntryHeader || esize > int64(len(kt.data))-pos {
				return nil, configErr(kt.off+pos+2, "key entry size %d", esize)
			}
			e, err := vmcxDecodeEntry(buf, kt.data[pos:pos+esize], kt.off+pos, files)
			if err != nil {
				return nil, err
			}
			if e != nil {
				ref := vmcxRef{kt.index, uint32(pos)}
				entries[ref] = e
				order = append(order, ref)
			}
			pos += esize
		}
	}
	root := &ConfigNode{}
	for _, ref := range order {
		e := entries[ref]
		if e.parentIx == 0 {
			root.Children = append(root.Children, e.node)
			continue
		}
		p := entries[vmcxRef{e.parentIx, e.parentAt}]
		if p == nil || p.node.Kind != KindNode {
			continue // orphan: its parent was freed or is not a node
		}
		p.node.Children = append(p.node.Children, e.node)
	}
	if err := sortTree(root, 0); err != nil {
		return nil, err
	}
	return root, nil
}

// sortTree orders children by key so that output does not depend on table
// layout, and refuses trees deeper than maxConfigDepth.
func sortTree(n *ConfigNode, depth int) error {
	if depth > maxConfigDepth {
		return configErr(0, "configuration nested deeper than %d", maxConfigDepth)
	}
	sort.SliceStable(n.Children, func(i, j int) bool { return n.Children[i].Key < n.Children[j].Key })
	for _, c := range n.Children {
		if err := sortTree(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// vmcxDecodeEntry decodes one key entry (b is the whole entry, at is its
// file offset). It returns nil for free entries.
func vmcxDecodeEntry(buf, b []byte, at int64, files map[int64]int64) (*vmcxEntry, error) {
	typ := b[0]
	flags := b[1]
	if typ == vmcxFree {
		return nil, nil
	}
	e := &vmcxEntry{
		parentIx: binary.LittleEndian.Uint16(b[6:]),
		parentAt: binary.LittleEndian.Uint32(b[8:]),
		seq:      binary.LittleEndian.Uint32(b[16:]),
	}
	raw := b[vmcxKeyEntryHeader:]
	dataOff := int(b[20])
	if dataOff < 1 || dataOff > len(raw) {
		return nil, configErr(at+20, "key data offset %d", dataOff)
	}
	n := &ConfigNode{Key: string(raw[:dataOff-1])}
	e.node = n
	data := raw[dataOff:]
	var err error
	if flags&vmcxFileObject != 0 && (typ == vmcxString || typ == vmcxArray) {
		data, err = vmcxFileData(buf, data, at, files)
		if err != nil {
			return nil, err
		}
	} else if typ == vmcxString || typ == vmcxArray {
		if len(data) < 4 {
			return nil, configErr(at, "key %q: short value", n.Key)
		}
		l := binary.LittleEndian.Uint32(data)
		if uint64(l) > uint64(len(data)-4) {
			return nil, configErr(at, "key %q: value length %d exceeds the entry", n.Key, l)
		}
		data = data[4 : 4+l]
	}
	return e, vmcxSetValue(n, typ, data, at)
}

// vmcxFileData resolves a value stored in a file object.
func vmcxFileData(buf, ptr []byte, at int64, files map[int64]int64) ([]byte, error) {
	if len(ptr) < 12 {
		return nil, configErr(at, "short file object pointer")
	}
	l := int64(binary.LittleEndian.Uint32(ptr))
	off := binary.LittleEndian.Uint64(ptr[4:])
	osize, ok := files[int64(off)]
	if off > math.MaxInt64 || !ok {
		return nil, configErr(at, "value in unknown file object 0x%x", off)
	}
	if l > osize {
		return nil, configErr(at, "value of %d bytes in a file object of %d", l, osize)
	}
	// The object table entry was already checked against the file size.
	return buf[off : int64(off)+l], nil
}

func vmcxSetValue(n *ConfigNode, typ byte, data []byte, at int64) error {
	need := map[byte]int{vmcxInt: 8, vmcxUint: 8, vmcxDouble: 8, vmcxBool: 4}[typ]
	if len(data) < need {
		return configErr(at, "key %q: value of %d bytes, want %d", n.Key, len(data), need)
	}
	switch typ {
	case vmcxNode:
		n.Kind = KindNode
	case vmcxInt:
		n.Kind, n.Int = KindInt, int64(binary.LittleEndian.Uint64(data))
	case vmcxUint:
		n.Kind, n.Uint = KindUint, binary.LittleEndian.Uint64(data)
	case vmcxDouble:
		n.Kind, n.Float = KindDouble, math.Float64frombits(binary.LittleEndian.Uint64(data))
	case vmcxBool:
		n.Kind, n.Bool = KindBool, binary.LittleEndian.Uint32(data) != 0
	case vmcxString:
		n.Kind, n.Str = KindString, decodeUTF16(data)
	case vmcxArray:
		n.Kind, n.Bytes = KindBytes, append([]byte(nil), data...)
	default:
		return configErr(at, "key %q: unknown value type %d", n.Key, typ)
	}
	return nil
}

// decodeUTF16 decodes UTF-16LE text, dropping an odd trailing byte and
// anything from the first NUL on (C-style terminators).
func decodeUTF16(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}
