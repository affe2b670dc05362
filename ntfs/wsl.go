package ntfs

import (
	"encoding/binary"
	"io/fs"
	"unicode/utf8"
)

// Reparse tags of the Windows Subsystem for Linux. The special files carry
// no reparse data; a device's numbers are in its $LXDEV extended attribute.
const (
	TagLXSymlink uint32 = 0xA000001D // data: version 2, then the UTF-8 target
	TagAFUnix    uint32 = 0x80000023 // a socket
	TagLXFifo    uint32 = 0x80000024
	TagLXChr     uint32 = 0x80000025
	TagLXBlk     uint32 = 0x80000026
)

// attrEA is the $EA attribute: the file's extended attributes, a list of
// FILE_FULL_EA_INFORMATION entries.
const attrEA uint32 = 0xE0

// maxEASize bounds the $EA value: Windows caps a file's EAs at 64 KiB.
const maxEASize = 64 << 10

// LXAttributes is the POSIX metadata WSL keeps in a file's extended
// attributes. Has* say which of them the file carries.
type LXAttributes struct {
	UID, GID     uint32 // $LXUID, $LXGID
	Mode         uint32 // $LXMOD: st_mode, file type bits included
	Major, Minor uint32 // $LXDEV of a device node
	HasUID       bool
	HasGID       bool
	HasMode      bool
	HasDev       bool
}

// parseEAs decodes a $EA value into names and values. Entries are
// 4-byte aligned; NextEntryOffset 0 ends the list. A malformed tail is
// dropped: extended attributes are extras, never worth refusing a file.
func parseEAs(b []byte) map[string][]byte {
	eas := map[string][]byte{}
	for len(b) >= 8 && len(eas) < 4096 {
		next := int(binary.LittleEndian.Uint32(b))
		nlen := int(b[5])
		vlen := int(binary.LittleEndian.Uint16(b[6:]))
		if 8+nlen+1+vlen > len(b) {
			break
		}
		name := string(b[8 : 8+nlen])
		eas[name] = b[8+nlen+1 : 8+nlen+1+vlen]
		if next <= 0 || next > len(b) {
			break
		}
		b = b[next:]
	}
	return eas
}

// lxFromEAs returns the WSL metadata among the extended attributes, or nil.
func lxFromEAs(eas map[string][]byte) *LXAttributes {
	var lx LXAttributes
	u32 := func(name string, v *uint32, has *bool) {
		if b, ok := eas[name]; ok && len(b) >= 4 {
			*v, *has = binary.LittleEndian.Uint32(b), true
		}
	}
	u32("$LXUID", &lx.UID, &lx.HasUID)
	u32("$LXGID", &lx.GID, &lx.HasGID)
	u32("$LXMOD", &lx.Mode, &lx.HasMode)
	if b, ok := eas["$LXDEV"]; ok && len(b) >= 8 {
		lx.Major, lx.Minor, lx.HasDev = binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:]), true
	}
	if !lx.HasUID && !lx.HasGID && !lx.HasMode && !lx.HasDev {
		return nil
	}
	return &lx
}

// parseLXSymlink decodes the data of a WSL symlink: a version (2) and the
// target as UTF-8 bytes, a POSIX path.
func parseLXSymlink(r *Reparse, off int64) error {
	d := r.Data
	if len(d) < 4 || !utf8.Valid(d[4:]) {
		return formatErr(off, "WSL symlink data of %d bytes", len(d))
	}
	t := string(d[4:])
	r.PrintName, r.SubstituteName = t, t
	r.Relative = len(t) == 0 || t[0] != '/'
	return nil
}

// specialType returns the file type of a WSL special file, or 0.
func (fi *FileRecordInfo) specialType() fs.FileMode {
	if fi.Reparse == nil {
		return 0
	}
	switch fi.Reparse.Tag {
	case TagAFUnix:
		return fs.ModeSocket
	case TagLXFifo:
		return fs.ModeNamedPipe
	case TagLXChr:
		return fs.ModeDevice | fs.ModeCharDevice
	case TagLXBlk:
		return fs.ModeDevice
	}
	return 0
}

// POSIXAttributes returns the permission bits (07777) and owner WSL
// recorded (the guest contract's POSIXAttributer). Without WSL metadata (LX nil) it gives
// the bits Mode maps from the Windows attributes and owner 0.
func (fi *FileRecordInfo) POSIXAttributes() (perm, uid, gid uint32) {
	perm = uint32((&fileInfo{rec: fi}).Mode().Perm())
	if lx := fi.LX; lx != nil {
		if lx.HasMode {
			perm = lx.Mode & 0o7777
		}
		uid, gid = lx.UID, lx.GID
	}
	return perm, uid, gid
}

// DeviceNumber returns the major and minor numbers of a WSL device node.
func (fi *FileRecordInfo) DeviceNumber() (major, minor uint32, ok bool) {
	if fi.LX == nil || !fi.LX.HasDev {
		return 0, 0, false
	}
	return fi.LX.Major, fi.LX.Minor, true
}

// XattrReparse names the extended attribute holding the reparse point of
// a file whose tag this package does not turn into a file type (app
// execution aliases, cloud files, ...): the whole reparse buffer, tag and
// length header included.
const XattrReparse = "user.ckptfs.reparse"

// decodedTag reports whether a tag is shown as what it means (a link, a
// special file, compressed content) rather than as an xattr.
func decodedTag(tag uint32) bool {
	switch tag {
	case TagSymlink, TagMountPoint, TagInterix, TagLXSymlink, TagAFUnix, TagLXFifo, TagLXChr, TagLXBlk, TagWOF, TagDedup:
		return true
	}
	return false
}

// Buffer returns the reparse point as stored: tag, data length, reserved
// word, data.
func (r *Reparse) Buffer() []byte {
	b := make([]byte, 8+len(r.Data))
	binary.LittleEndian.PutUint32(b, r.Tag)
	binary.LittleEndian.PutUint16(b[4:], uint16(len(r.Data)))
	copy(b[8:], r.Data)
	return b
}

// Xattrs returns the extended attributes a POSIX reader should see beyond
// the named streams: the reparse point of an undecoded tag (XattrReparse),
// and the security descriptor and owner (see security.go).
func (fi *FileRecordInfo) Xattrs() (map[string][]byte, error) {
	x := map[string][]byte{}
	if r := fi.Reparse; r != nil && !decodedTag(r.Tag) {
		x[XattrReparse] = r.Buffer()
	}
	if err := fi.securityXattrs(x); err != nil {
		return nil, err
	}
	return x, nil
}
