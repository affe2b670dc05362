package ext

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Attribute magic and the name index of "system." names (where inline
// data keeps its tail as "system.data").
const (
	xattrMagic    = 0xea020000
	xattrIndexSys = 7
)

// content is how to read an inode's bytes: by its extents (or block map),
// or from the inode for inline data. It holds no mutable state:
// concurrent reads are safe.
type content struct {
	v       *FS
	extents []extent // in logical order, not overlapping
	inline  []byte   // the whole content of an inline-data inode
	isInl   bool
}

// contentOf maps the bytes of inode in (size bytes of them).
func (v *FS) contentOf(in *inode, size int64) (*content, error) {
	flags := in.flags()
	c := &content{v: v}
	var err error
	switch {
	case flags&flagEncrypt != 0:
		return nil, unsupported("inode %d: encrypted", in.ino)
	case flags&flagInline != 0:
		c.isInl = true
		c.inline, err = inlineData(in, size)
	case flags&flagExtents != 0:
		w := extentWalk{v: v, ino: in.ino, at: in.off}
		err = w.node(in.iblock(), -1, 0, 1<<32)
		c.extents = w.extents
	default:
		c.extents, err = v.blockMap(in, size)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// inlineData returns the content of an inline-data inode: the first 60
// bytes in i_block, the rest in the value of the in-inode attribute
// "system.data".
func inlineData(in *inode, size int64) ([]byte, error) {
	bad := func(format string, args ...any) error {
		return formatErr(in.off, "inode %d: inline data: "+format, append([]any{in.ino}, args...)...)
	}
	if size < 0 || size > int64(len(in.b)) {
		return nil, bad("%d bytes in an inode of %d", size, len(in.b))
	}
	out := make([]byte, 0, size)
	out = append(out, in.iblock()[:min(size, 60)]...)
	if size <= 60 {
		return out, nil
	}
	value, err := inodeXattr(in.b, xattrIndexSys, "data")
	if err != nil {
		return nil, bad("%v", err)
	}
	if int64(len(value)) < size-60 {
		return nil, bad("%d bytes, but i_block and system.data hold %d", size, 60+len(value))
	}
	return append(out, value[:size-60]...), nil
}

// inodeXattr finds an attribute stored in the inode after its extra
// fields and returns its value.
func inodeXattr(b []byte, index byte, name string) ([]byte, error) {
	if len(b) <= inodeExtraSize+2 {
		return nil, errors.New("no room for attributes in a 128-byte inode")
	}
	start := inodeExtraSize + int(binary.LittleEndian.Uint16(b[inodeExtraSize:]))
	if start+4 > len(b) || binary.LittleEndian.Uint32(b[start:]) != xattrMagic {
		return nil, errors.New("no in-inode attributes")
	}
	first := start + 4 // value offsets count from here
	for e := first; e+16 <= len(b); {
		nameLen := int(b[e])
		if nameLen == 0 && b[e+1] == 0 && binary.LittleEndian.Uint16(b[e+2:]) == 0 {
			break // the terminating empty entry
		}
		if e+16+nameLen > len(b) {
			return nil, fmt.Errorf("attribute entry at %d runs past the inode", e)
		}
		vOff := int(binary.LittleEndian.Uint16(b[e+2:]))
		vInum := binary.LittleEndian.Uint32(b[e+4:])
		vSize := int(binary.LittleEndian.Uint32(b[e+8:]))
		if b[e+1] == index && string(b[e+16:e+16+nameLen]) == name {
			if vInum != 0 {
				return nil, fmt.Errorf("value in inode %d (ea_inode): %w", vInum, ErrUnsupported)
			}
			if vSize < 0 || vOff < 0 || first+vOff+vSize > len(b) {
				return nil, fmt.Errorf("value of %d bytes at %d runs past the inode", vSize, vOff)
			}
			return b[first+vOff : first+vOff+vSize], nil
		}
		e += (16 + nameLen + 3) &^ 3
	}
	return nil, fmt.Errorf("no attribute %q", name)
}

// readAt fills p from byte off; the caller has cut p at the size.
func (c *content) readAt(p []byte, off int64) (int, error) {
	if c.isInl || len(c.extents) == 0 {
		clear(p)
		if off < int64(len(c.inline)) {
			copy(p, c.inline[off:])
		}
		return len(p), nil
	}
	v := c.v
	bs := v.geo.blockSize
	i := sort.Search(len(c.extents), func(i int) bool {
		e := c.extents[i]
		return int64(e.logical+e.length())*bs > off
	})
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if i >= len(c.extents) || int64(c.extents[i].logical)*bs > pos {
			// A hole up to the next extent (or the end).
			end := int64(len(p))
			if i < len(c.extents) {
				end = min(end, int64(c.extents[i].logical)*bs-off)
			}
			clear(p[n:end])
			n = int(end)
			continue
		}
		e := c.extents[i]
		extEnd := int64(e.logical+e.length()) * bs
		chunk := p[n:min(int64(len(p)), extEnd-off)]
		if e.unwritten() {
			clear(chunk)
		} else {
			at := int64(e.physical)*bs + pos - int64(e.logical)*bs
			if err := readFull(v.r, v.size, chunk, at); err != nil {
				return n, fmt.Errorf("ext: reading file data at byte %d of the volume: %w", at, err)
			}
		}
		n += len(chunk)
		i++
	}
	return n, nil
}

// Extent maps FileOff..FileOff+Len of a file onto the volume at VolOff.
// Sparse extents (holes) have VolOff -1; Unwritten extents (preallocated)
// have space at VolOff; both read as zeros.
type Extent struct {
	FileOff, VolOff, Len int64
	Sparse               bool
	Unwritten            bool
}

// byteExtents maps the extents that start before size, in whole blocks:
// blocks no extent maps are holes. Inline data lies in the inode, not one
// to one in blocks: not exact.
func (c *content) byteExtents(size int64) ([]Extent, bool) {
	if c.isInl {
		return nil, false
	}
	bs := c.v.geo.blockSize
	var out []Extent
	hole := func(from, to int64) {
		if to > from {
			out = append(out, Extent{FileOff: from, VolOff: -1, Len: to - from, Sparse: true})
		}
	}
	pos := int64(0)
	for _, e := range c.extents {
		if pos >= size {
			break
		}
		start := int64(e.logical) * bs
		hole(pos, min(start, size))
		// Whole blocks, as allocated: the last one may run past the size.
		n := min(int64(e.length())*bs, (size-start+bs-1)/bs*bs)
		if n <= 0 {
			continue
		}
		out = append(out, Extent{FileOff: start, VolOff: int64(e.physical) * bs, Len: n, Unwritten: e.unwritten()})
		pos = start + n
	}
	hole(pos, size)
	return out, true
}

// linkTarget reads the target of symlink inode in: in i_block when it is
// shorter than 60 bytes (a "fast" link), else in the link's data, like a
// file's.
func (v *FS) linkTarget(in *inode) (string, error) {
	if !in.isLink() {
		return "", formatErr(in.off, "inode %d is not a symbolic link (mode type %#x)", in.ino, in.typ())
	}
	size := in.size()
	flags := in.flags()
	if size <= 0 || size >= v.geo.blockSize || size >= 4096 {
		// The kernel writes targets shorter than a block and than PATH_MAX.
		return "", formatErr(in.off, "inode %d: symbolic link target of %d bytes", in.ino, size)
	}
	switch {
	case flags&flagEncrypt != 0:
		return "", unsupported("inode %d: encrypted link target", in.ino)
	case flags&flagInline != 0:
		t, err := inlineData(in, size)
		return string(t), err
	case size < 60 && flags&flagExtents == 0:
		// A fast link: no blocks. (An ext2 slow link of fewer than 60
		// bytes has i_blocks set; mke2fs and the kernel make fast ones.)
		if in.u32(0x1c) == 0 || in.u32(inodeFileACL) != 0 && in.u32(0x1c) == uint32(v.geo.blockSize/512) {
			return string(in.iblock()[:size]), nil
		}
	}
	c, err := v.contentOf(in, size)
	if err != nil {
		return "", err
	}
	target := make([]byte, size)
	if _, err := c.readAt(target, 0); err != nil {
		return "", err
	}
	return string(target), nil
}
