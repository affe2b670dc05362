package ntfs

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Security descriptors. Since NTFS 3.0 a file's $STANDARD_INFORMATION
// holds a security id, and $Secure's $SDS stream holds the descriptors:
// entries of a 20-byte header (hash, id, offset, length) and the
// self-relative descriptor, 16-byte aligned, in 256 KiB blocks each
// followed by its mirror copy. Older volumes keep the descriptor in the
// file's own $SECURITY_DESCRIPTOR attribute.

const (
	attrSecurityDescriptor uint32 = 0x50
	secureRecord                  = 9
	sdsBlock                      = 256 << 10
	sdsHeader                     = 20
	// maxSDSize bounds one descriptor: Windows caps an ACL at 64 KiB.
	maxSDSize = 256 << 10
	// maxSDS bounds the $SDS stream read to index it.
	maxSDS = 1 << 30
	// sdCacheBytes bounds the descriptors kept per volume (two
	// generations of half).
	sdCacheBytes = 1 << 20
)

// Extended attribute names of the security descriptor, as ntfs-3g names
// its binary form, and of the owner SID as text.
const (
	XattrNTFSACL = "system.ntfs_acl"
	XattrOwner   = "user.ckptfs.owner"
)

// sdsEntry locates one descriptor in $SDS.
type sdsEntry struct {
	off int64
	len int
}

// securityIndex reads $SDS once and maps security ids to their entries.
func (v *Volume) securityIndex() (map[uint32]sdsEntry, *stream, error) {
	v.sdsOnce.Do(func() {
		v.sdsIdx, v.sds, v.sdsErr = v.indexSDS()
	})
	return v.sdsIdx, v.sds, v.sdsErr
}

func (v *Volume) indexSDS() (map[uint32]sdsEntry, *stream, error) {
	n, err := v.node(secureRecord)
	if err != nil {
		return nil, nil, err
	}
	s, err := n.stream("$SDS")
	if err != nil {
		return nil, nil, fmt.Errorf("ntfs: $Secure: %w", err)
	}
	if s.size > maxSDS {
		return nil, nil, kindErr(ErrRange, -1, "$SDS of %d bytes", s.size)
	}
	idx := map[uint32]sdsEntry{}
	buf := make([]byte, sdsBlock)
	// Only the primary blocks: every other 256 KiB block is a mirror.
	for base := int64(0); base < s.size; base += 2 * sdsBlock {
		k, err := s.ReadAt(buf, base)
		if err != nil && err != io.EOF {
			return nil, nil, err
		}
		b := buf[:k]
		for p := 0; p+sdsHeader <= len(b); {
			id := binary.LittleEndian.Uint32(b[p+4:])
			off := int64(binary.LittleEndian.Uint64(b[p+8:]))
			l := int(binary.LittleEndian.Uint32(b[p+16:]))
			if l < sdsHeader || l > maxSDSize || off != base+int64(p) || p+l > len(b) {
				break // free space or damage: the rest of the block
			}
			if _, dup := idx[id]; !dup {
				idx[id] = sdsEntry{off: off + sdsHeader, len: l - sdsHeader}
			}
			p += (l + 15) &^ 15
		}
	}
	return idx, s, nil
}

// SecurityDescriptor returns the self-relative security descriptor of
// the file, from $Secure through its security id or from its own
// $SECURITY_DESCRIPTOR attribute; nil when it has none.
func (fi *FileRecordInfo) SecurityDescriptor() ([]byte, error) {
	if fi.hasSD {
		return []byte(fi.sd.Value()), nil
	}
	if fi.v == nil {
		return nil, nil
	}
	if fi.SecurityID == 0 {
		return nil, nil
	}
	idx, s, err := fi.v.securityIndex()
	if err != nil {
		return nil, err
	}
	e, ok := idx[fi.SecurityID]
	if !ok {
		return nil, nil
	}
	// Files share a few descriptors: each is read once (a listing with
	// extended attributes asks for one per file), and handed out as a
	// copy the caller owns.
	if b, ok := fi.v.sdCache.Get(fi.SecurityID); ok {
		return slices.Clone(b), nil
	}
	b := make([]byte, e.len)
	if _, err := s.ReadAt(b, e.off); err != nil && err != io.EOF {
		return nil, fmt.Errorf("ntfs: security id %d: %w", fi.SecurityID, err)
	}
	fi.v.sdCache.Put(fi.SecurityID, b)
	return slices.Clone(b), nil
}

// OwnerSID returns the owner of a self-relative security descriptor as a
// SID string ("S-1-5-21-..."), or "" when it names none.
func OwnerSID(sd []byte) string {
	if len(sd) < 20 {
		return ""
	}
	off := int(binary.LittleEndian.Uint32(sd[4:]))
	if off == 0 || off+8 > len(sd) {
		return ""
	}
	return sidString(sd[off:])
}

// sidString formats a binary SID: revision, sub-authority count, a 48-bit
// big-endian authority, then 32-bit little-endian sub-authorities.
func sidString(b []byte) string {
	if len(b) < 8 {
		return ""
	}
	n := int(b[1])
	if 8+4*n > len(b) {
		return ""
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var sb strings.Builder
	sb.WriteString("S-")
	sb.WriteString(strconv.Itoa(int(b[0])))
	sb.WriteString("-")
	sb.WriteString(strconv.FormatUint(auth, 10))
	for i := 0; i < n; i++ {
		sb.WriteString("-")
		sb.WriteString(strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10))
	}
	return sb.String()
}

// securityXattrs adds the descriptor and its owner to x.
func (fi *FileRecordInfo) securityXattrs(x map[string][]byte) error {
	sd, err := fi.SecurityDescriptor()
	if err != nil || sd == nil {
		return err
	}
	x[XattrNTFSACL] = sd
	if o := OwnerSID(sd); o != "" {
		x[XattrOwner] = []byte(o)
	}
	return nil
}
