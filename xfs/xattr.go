package xfs

import (
	"encoding/binary"
	"maps"
)

// Attribute entry flags (namespace and state).
const (
	attrLocal      = 1 << 0
	attrRoot       = 1 << 1 // trusted.
	attrSecure     = 1 << 2 // security.
	attrParent     = 1 << 3 // parent pointer: internal, not an xattr
	attrIncomplete = 1 << 7 // half-set: the kernel hides it

	attrLeafMagicV4 = 0xfbee
	attrLeafMagicV5 = 0x3bee
	daNodeMagicV4   = 0xfebe
	daNodeMagicV5   = 0x3ebe
	attrRmtMagic    = 0x5841524d // "XARM"
	// maxXattrValue is the largest value Linux sets (XATTR_SIZE_MAX).
	maxXattrValue = 64 << 10
	// maxXattrBytes bounds one file's names and values together.
	maxXattrBytes = 16 << 20
)

// xattrs reads all extended attributes of an inode with the names Linux
// lists: "user.", "trusted.", "security." prefixes, and the ACLs XFS
// keeps as trusted.SGI_ACL_* also as system.posix_acl_* in the kernel's
// form.
func (v *FS) xattrs(b *budget, in *inode) (map[string][]byte, error) {
	out := map[string][]byte{}
	if in.afork == nil {
		return out, nil
	}
	c := &attrCollector{out: out}
	var err error
	switch in.aformat {
	case fmtLocal:
		err = c.shortform(in)
	default:
		err = v.attrTree(b, in, c)
	}
	if err != nil {
		return nil, err
	}
	return maps.Clone(out), nil
}

type attrCollector struct {
	out   map[string][]byte
	bytes int
}

func (c *attrCollector) add(flags uint8, name string, val []byte, off int64) error {
	if flags&(attrParent|attrIncomplete) != 0 {
		return nil
	}
	c.bytes += len(name) + len(val)
	if c.bytes > maxXattrBytes {
		return kindErr(ErrRange, off, "more than %d bytes of extended attributes", maxXattrBytes)
	}
	switch {
	case flags&attrRoot != 0 && (name == "SGI_ACL_FILE" || name == "SGI_ACL_DEFAULT"):
		acl, err := aclToXattr(val)
		if err != nil {
			return formatErr(off, "ACL %s: %v", name, err)
		}
		if name == "SGI_ACL_FILE" {
			c.out["system.posix_acl_access"] = acl
		} else {
			c.out["system.posix_acl_default"] = acl
		}
		// Linux lists the stored form too, to root, as trusted.*.
		c.out["trusted."+name] = val
	case flags&attrRoot != 0:
		c.out["trusted."+name] = val
	case flags&attrSecure != 0:
		c.out["security."+name] = val
	default:
		c.out["user."+name] = val
	}
	return nil
}

// shortform decodes attributes held in the inode: a header (total size,
// count) then entries of name length, value length, flags, name, value.
func (c *attrCollector) shortform(in *inode) error {
	b := in.afork
	if len(b) < 4 {
		return formatErr(in.off, "inode %d: short form attributes of %d bytes", in.ino, len(b))
	}
	total := int(binary.BigEndian.Uint16(b))
	if total < 4 || total > len(b) {
		return formatErr(in.off, "inode %d: short form attributes of %d bytes in a fork of %d", in.ino, total, len(b))
	}
	count := int(b[2])
	b = b[:total]
	p := 4
	for range count {
		if p+3 > len(b) {
			return formatErr(in.off, "inode %d: short form attribute past its end", in.ino)
		}
		nl, vl, fl := int(b[p]), int(b[p+1]), b[p+2]
		if p+3+nl+vl > len(b) {
			return formatErr(in.off, "inode %d: short form attribute of %d+%d bytes past its end", in.ino, nl, vl)
		}
		name := string(b[p+3 : p+3+nl])
		val := append([]byte(nil), b[p+3+nl:p+3+nl+vl]...)
		if err := c.add(fl, name, val, in.off); err != nil {
			return err
		}
		p += 3 + nl + vl
	}
	return nil
}

// attrTree reads attributes kept in blocks: a single leaf block, or a
// dabtree whose leaves are chained left to right from the leftmost.
func (v *FS) attrTree(b *budget, in *inode, c *attrCollector) error {
	exts, err := v.forkExtents(b, in, true)
	if err != nil || len(exts) == 0 { // an attribute fork left empty
		return err
	}
	bs := int(v.sb.blockSize)
	blk := uint64(0)
	seen := map[uint64]bool{}
	for level := -1; ; {
		if seen[blk] || len(seen) > maxExtents {
			return kindErr(ErrLoop, in.off, "inode %d: attribute block %d visited twice", in.ino, blk)
		}
		seen[blk] = true
		buf, at, ok, err := v.readBlocks(b, exts, blk, bs)
		if err != nil {
			return err
		}
		if !ok {
			return formatErr(in.off, "inode %d: attribute block %d is a hole", in.ino, blk)
		}
		magic := binary.BigEndian.Uint16(buf[8:])
		if v.sb.hasCRC() && (magic == attrLeafMagicV5 || magic == daNodeMagicV5) {
			if err := v.checkCRC(buf, 12, at); err != nil {
				return err
			}
		}
		switch {
		case magic == daNodeMagicV4 && !v.sb.hasCRC(), magic == daNodeMagicV5 && v.sb.hasCRC():
			child, lvl, err := v.daFirstChild(buf, at, in.ino)
			if err != nil {
				return err
			}
			if level >= 0 && lvl != level-1 || lvl < 1 || lvl > maxBtreeLevels {
				return formatErr(at, "inode %d: attribute node of level %d under level %d", in.ino, lvl, level)
			}
			level, blk = lvl, child
		case magic == attrLeafMagicV4 && !v.sb.hasCRC(), magic == attrLeafMagicV5 && v.sb.hasCRC():
			if level > 1 {
				return formatErr(at, "inode %d: attribute leaf under a node of level %d", in.ino, level)
			}
			if err := v.attrLeaf(b, in, exts, buf, at, c); err != nil {
				return err
			}
			forw := binary.BigEndian.Uint32(buf)
			if forw == 0 {
				return nil
			}
			level, blk = 0, uint64(forw)
		default:
			return formatErr(at, "inode %d: attribute block magic 0x%04x", in.ino, magic)
		}
	}
}

// daFirstChild returns a dabtree node's leftmost child and its level.
func (v *FS) daFirstChild(buf []byte, at int64, ino uint64) (uint64, int, error) {
	hdr, cnt := 16, 12
	if v.sb.hasCRC() {
		hdr, cnt = 64, 56
	}
	count := int(binary.BigEndian.Uint16(buf[cnt:]))
	level := int(binary.BigEndian.Uint16(buf[cnt+2:]))
	if count < 1 || count > (len(buf)-hdr)/8 {
		return 0, 0, formatErr(at, "inode %d: dabtree node of %d entries", ino, count)
	}
	return uint64(binary.BigEndian.Uint32(buf[hdr+4:])), level, nil
}

// attrLeaf decodes one attribute leaf block: entries (hash, name offset,
// flags) pointing at local name/value pairs or at remote values.
func (v *FS) attrLeaf(b *budget, in *inode, exts []bext, buf []byte, at int64, c *attrCollector) error {
	be := binary.BigEndian
	hdr, cnt := 32, 12
	if v.sb.hasCRC() {
		hdr, cnt = 80, 56
		if owner := be.Uint64(buf[48:]); owner != in.ino {
			return formatErr(at, "inode %d: attribute block owned by inode %d", in.ino, owner)
		}
	}
	count := int(be.Uint16(buf[cnt:]))
	if count > (len(buf)-hdr)/8 {
		return formatErr(at, "inode %d: attribute leaf of %d entries", in.ino, count)
	}
	for i := range count {
		e := buf[hdr+i*8:]
		idx := int(be.Uint16(e[4:]))
		flags := e[6]
		if idx < hdr || idx >= len(buf) {
			return formatErr(at, "inode %d: attribute name at offset %d", in.ino, idx)
		}
		nv := buf[idx:]
		if flags&attrLocal != 0 {
			if len(nv) < 3 {
				return formatErr(at+int64(idx), "inode %d: attribute past the block's end", in.ino)
			}
			vl, nl := int(be.Uint16(nv)), int(nv[2])
			if 3+nl+vl > len(nv) {
				return formatErr(at+int64(idx), "inode %d: attribute of %d+%d bytes past the block's end", in.ino, nl, vl)
			}
			val := append([]byte(nil), nv[3+nl:3+nl+vl]...)
			if err := c.add(flags, string(nv[3:3+nl]), val, at+int64(idx)); err != nil {
				return err
			}
			continue
		}
		if len(nv) < 9 {
			return formatErr(at+int64(idx), "inode %d: remote attribute past the block's end", in.ino)
		}
		vblk, vl, nl := be.Uint32(nv), int(be.Uint32(nv[4:])), int(nv[8])
		if 9+nl > len(nv) || vl > maxXattrValue {
			return formatErr(at+int64(idx), "inode %d: remote attribute of name %d and value %d bytes", in.ino, nl, vl)
		}
		name := string(nv[9 : 9+nl])
		if flags&(attrParent|attrIncomplete) != 0 {
			continue
		}
		val, err := v.remoteValue(b, in, exts, uint64(vblk), vl)
		if err != nil {
			return err
		}
		if err := c.add(flags, name, val, at+int64(idx)); err != nil {
			return err
		}
	}
	return nil
}

// remoteValue reads a value kept in its own attribute fork blocks; on v5
// each block starts with a header (magic, offset, bytes, CRC, owner).
func (v *FS) remoteValue(b *budget, in *inode, exts []bext, blk uint64, n int) ([]byte, error) {
	bs := int(v.sb.blockSize)
	if !v.sb.hasCRC() {
		nblk := (n + bs - 1) / bs
		buf, at, ok, err := v.readBlocks(b, exts, blk, nblk*bs)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, formatErr(at, "inode %d: remote attribute value in a hole", in.ino)
		}
		return buf[:n], nil
	}
	const rh = 56
	out := make([]byte, 0, n)
	for len(out) < n {
		buf, at, ok, err := v.readBlocks(b, exts, blk, bs)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, formatErr(at, "inode %d: remote attribute value in a hole", in.ino)
		}
		be := binary.BigEndian
		if be.Uint32(buf) != attrRmtMagic {
			return nil, formatErr(at, "inode %d: no remote attribute magic", in.ino)
		}
		if err := v.checkCRC(buf, 12, at); err != nil {
			return nil, err
		}
		boff, cnt := int(be.Uint32(buf[4:])), int(be.Uint32(buf[8:]))
		if boff != len(out) || cnt > bs-rh || cnt > n-len(out) || cnt == 0 {
			return nil, formatErr(at, "inode %d: remote attribute block of %d bytes at value offset %d", in.ino, cnt, boff)
		}
		out = append(out, buf[rh:rh+cnt]...)
		blk++
	}
	return out, nil
}

// ACL entry tags the kernel gives no id.
const (
	aclUserObj  = 0x01
	aclGroupObj = 0x04
	aclMask     = 0x10
	aclOther    = 0x20
)

// aclToXattr converts an XFS ACL (big-endian count, then tag, id, perm
// entries of 12 bytes) into the posix_acl_xattr form getxattr returns:
// version 2, then little-endian tag (16), perm (16), id (32) entries.
func aclToXattr(b []byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, formatErr(-1, "ACL of %d bytes", len(b))
	}
	n := int(binary.BigEndian.Uint32(b))
	if n > (len(b)-4)/12 {
		return nil, formatErr(-1, "ACL of %d entries in %d bytes", n, len(b))
	}
	out := make([]byte, 4, 4+8*n)
	binary.LittleEndian.PutUint32(out, 2)
	for i := range n {
		e := b[4+i*12:]
		tag := binary.BigEndian.Uint32(e)
		id := binary.BigEndian.Uint32(e[4:])
		perm := binary.BigEndian.Uint16(e[8:])
		switch tag {
		case aclUserObj, aclGroupObj, aclMask, aclOther:
			id = 0xffffffff
		}
		out = binary.LittleEndian.AppendUint16(out, uint16(tag))
		out = binary.LittleEndian.AppendUint16(out, perm)
		out = binary.LittleEndian.AppendUint32(out, id)
	}
	return out, nil
}
