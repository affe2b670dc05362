package ext

import (
	"encoding/binary"
	"fmt"
)

// Extended attributes of ext2/3/4 files, as the kernel lists them: the
// entries stored in the inode after its extra fields and in the one
// attribute block i_file_acl names. POSIX ACLs are kept by ext in a
// compact form of their own and handed out in the kernel's xattr form
// (posix_acl_xattr), as getfattr shows them.

// ext attribute name indexes (e_name_index) and the prefixes they stand
// for; index 7 with the name "data" is inline data, not an attribute.
var extXattrPrefix = map[byte]string{
	1: "user.",
	2: "system.posix_acl_access",
	3: "system.posix_acl_default",
	4: "trusted.",
	6: "security.",
	7: "system.",
	8: "system.richacl",
}

const (
	extXattrBlockHeader = 32 // header of an attribute block, before its first entry
	extXattrEntry       = 16 // entry size before the name
	// extMaxXattrs bounds the attributes of one file (an inode and a
	// block hold at most a few hundred).
	extMaxXattrs = 4096
	// extMaxXattrValue is the largest value Linux sets (XATTR_SIZE_MAX);
	// only a value in an inode of its own (ea_inode) can be larger than a
	// block.
	extMaxXattrValue = 65536
	// flagEAInode marks an inode holding one attribute's value.
	flagEAInode = 0x200000
)

// xattrs reads the attributes of inode in.
func (v *FS) xattrs(in *inode) (map[string][]byte, error) {
	b := in.b
	out := map[string][]byte{}
	bad := func(format string, args ...any) error {
		return formatErr(in.off, "inode %d: extended attributes: "+format, append([]any{in.ino}, args...)...)
	}
	if len(b) > inodeExtraSize+2 {
		start := inodeExtraSize + int(binary.LittleEndian.Uint16(b[inodeExtraSize:]))
		if start+4 <= len(b) && binary.LittleEndian.Uint32(b[start:]) == xattrMagic {
			// Value offsets count from the first entry.
			if err := parseXattrs(out, b[start+4:], b[start+4:], v.eaInodeValue); err != nil {
				return nil, bad("in the inode: %v", err)
			}
		}
	}
	blk := uint64(binary.LittleEndian.Uint32(b[inodeFileACL:]))
	if len(b) > inodeFileACLHi+2 {
		blk |= uint64(binary.LittleEndian.Uint16(b[inodeFileACLHi:])) << 32
	}
	if blk == 0 {
		return out, nil
	}
	bs := v.geo.blockSize
	if blk >= v.geo.blocks {
		return nil, bad("attribute block %d lies outside the volume", blk)
	}
	block := make([]byte, bs)
	if err := readFull(v.r, v.size, block, int64(blk)*bs); err != nil {
		return nil, bad("reading attribute block %d: %v", blk, err)
	}
	if binary.LittleEndian.Uint32(block) != xattrMagic {
		return nil, bad("attribute block %d has no magic", blk)
	}
	if err := parseXattrs(out, block[extXattrBlockHeader:], block, v.eaInodeValue); err != nil {
		return nil, bad("in block %d: %v", blk, err)
	}
	return out, nil
}

// parseXattrs adds the entries of ents (up to the empty entry that ends
// them) to out; values lie in vals at their offsets, or in inodes of
// their own (ea_inode), which inodeValue reads.
func parseXattrs(out map[string][]byte, ents, vals []byte, inodeValue func(ino uint32, size int64) ([]byte, error)) error {
	for e := 0; e+4 <= len(ents) && binary.LittleEndian.Uint32(ents[e:]) != 0; {
		if e+extXattrEntry > len(ents) {
			return fmt.Errorf("entry at %d runs past its area", e)
		}
		nameLen := int(ents[e])
		index := ents[e+1]
		vOff := int(binary.LittleEndian.Uint16(ents[e+2:]))
		vInum := binary.LittleEndian.Uint32(ents[e+4:])
		vSize := int64(binary.LittleEndian.Uint32(ents[e+8:]))
		if e+extXattrEntry+nameLen > len(ents) {
			return fmt.Errorf("entry at %d: name runs past its area", e)
		}
		suffix := string(ents[e+extXattrEntry : e+extXattrEntry+nameLen])
		e += (extXattrEntry + nameLen + 3) &^ 3
		prefix, known := extXattrPrefix[index]
		if !known || (index == 7 && suffix == "data") {
			continue // a namespace the kernel does not list, or inline data
		}
		if len(out) >= extMaxXattrs {
			return fmt.Errorf("more than %d attributes", extMaxXattrs)
		}
		var v []byte
		if vInum != 0 {
			var err error
			if v, err = inodeValue(vInum, vSize); err != nil {
				return fmt.Errorf("%s%s: value in inode %d: %w", prefix, suffix, vInum, err)
			}
		} else {
			if vSize > int64(len(vals)) || vOff > len(vals)-int(vSize) {
				return fmt.Errorf("%s%s: value of %d bytes at %d runs past its area", prefix, suffix, vSize, vOff)
			}
			v = append([]byte(nil), vals[vOff:vOff+int(vSize)]...)
		}
		if index == 2 || index == 3 {
			var err error
			if v, err = extACLToXattr(v); err != nil {
				return fmt.Errorf("%s: %w", prefix, err)
			}
		}
		out[prefix+suffix] = v
	}
	return nil
}

// ACL entry tags (acl(5)) and versions of the two forms.
const (
	aclUserObj    = 0x01
	aclUser       = 0x02
	aclGroupObj   = 0x04
	aclGroup      = 0x08
	aclMask       = 0x10
	aclOther      = 0x20
	extACLVersion = 1
	xattrACLVer   = 2
	aclUndefined  = 0xffffffff
)

// extACLToXattr turns ext's stored ACL (a version header, then 4-byte
// entries for the owner, owning group, mask and others and 8-byte ones,
// with an id, for named users and groups) into the kernel's xattr form (a
// version 2 header, then 8-byte entries, the id undefined where there is
// none).
func extACLToXattr(b []byte) ([]byte, error) {
	if len(b) < 4 || binary.LittleEndian.Uint32(b) != extACLVersion {
		return nil, fmt.Errorf("ACL of %d bytes without version %d", len(b), extACLVersion)
	}
	out := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+2*len(b)), xattrACLVer)
	for p := 4; p < len(b); {
		if p+4 > len(b) {
			return nil, fmt.Errorf("ACL entry at %d is cut short", p)
		}
		tag, perm := binary.LittleEndian.Uint16(b[p:]), binary.LittleEndian.Uint16(b[p+2:])
		id := uint32(aclUndefined)
		switch tag {
		case aclUserObj, aclGroupObj, aclMask, aclOther:
			p += 4
		case aclUser, aclGroup:
			if p+8 > len(b) {
				return nil, fmt.Errorf("ACL entry at %d is cut short", p)
			}
			id = binary.LittleEndian.Uint32(b[p+4:])
			p += 8
		default:
			return nil, fmt.Errorf("ACL entry at %d has tag %#x", p, tag)
		}
		out = binary.LittleEndian.AppendUint16(out, tag)
		out = binary.LittleEndian.AppendUint16(out, perm)
		out = binary.LittleEndian.AppendUint32(out, id)
	}
	return out, nil
}

// eaInodeValue reads an attribute value kept as the content of an inode
// of its own (ea_inode: values larger than a block), size bytes long.
func (v *FS) eaInodeValue(ino uint32, size int64) ([]byte, error) {
	if v.geo.incompat&incompatEAInode == 0 {
		return nil, fmt.Errorf("the volume has no ea_inode feature")
	}
	if size < 0 || size > extMaxXattrValue {
		return nil, fmt.Errorf("value of %d bytes (at most %d)", size, extMaxXattrValue)
	}
	in, err := v.inode(ino)
	if err != nil {
		return nil, err
	}
	if in.flags()&flagEAInode == 0 || in.typ() != modeReg {
		return nil, fmt.Errorf("inode %d is no attribute value's inode", ino)
	}
	if in.size() != size {
		return nil, fmt.Errorf("inode %d holds %d bytes, the entry says %d", ino, in.size(), size)
	}
	c, err := v.contentOf(in, size)
	if err != nil {
		return nil, err
	}
	b := make([]byte, size)
	if _, err := c.readAt(b, 0); err != nil {
		return nil, err
	}
	return b, nil
}
