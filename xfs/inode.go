package xfs

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"time"
)

// Inode fork formats (di_format, di_aformat).
const (
	fmtDev     = 0
	fmtLocal   = 1
	fmtExtents = 2
	fmtBtree   = 3
)

// Inode flags this package acts on.
const (
	diflagRealtime  = 1 << 0 // di_flags: data lives in the realtime section
	diflag2Bigtime  = 1 << 3 // di_flags2: 64-bit nanosecond timestamps
	diflag2Nrext64  = 1 << 4 // di_flags2: 64-bit data fork extent count
	dinodeV2CoreLen = 100
	dinodeV3CoreLen = 176
)

// inode is a decoded on-disk inode with copies of its two forks.
type inode struct {
	ino       uint64
	off       int64 // byte offset of the inode in the volume
	mode      uint16
	version   uint8
	format    uint8
	aformat   uint8
	uid, gid  uint32
	nlink     uint32
	atime     time.Time
	mtime     time.Time
	ctime     time.Time
	crtime    time.Time // zero on v2 inodes
	size      int64
	nextents  uint64
	anextents uint64
	flags     uint16
	flags2    uint64
	gen       uint32
	rdev      uint32
	dfork     []byte // data fork literal area
	afork     []byte // attribute fork literal area, nil when absent
	dforkAt   int64  // byte offsets of the forks in the volume, for errors
	aforkAt   int64
}

// bigtimeEpoch is where XFS bigtime nanosecond counters start: the
// smallest 32-bit time_t, so old timestamps convert without a gap.
const bigtimeEpoch = -(1 << 31)

func decodeTime(b []byte, big bool) time.Time {
	be := binary.BigEndian
	if big {
		ns := be.Uint64(b)
		return time.Unix(int64(ns/1e9)+bigtimeEpoch, int64(ns%1e9)).UTC()
	}
	sec := int32(be.Uint32(b))
	nsec := be.Uint32(b[4:])
	return time.Unix(int64(sec), int64(nsec)).UTC()
}

// parseInode decodes the inode at off. b is exactly one inode.
func (v *FS) parseInode(ino uint64, off int64, b []byte) (*inode, error) {
	be := binary.BigEndian
	if string(b[0:2]) != "IN" {
		return nil, formatErr(off, "inode %d: no inode magic", ino)
	}
	in := &inode{
		ino:     ino,
		off:     off,
		mode:    be.Uint16(b[2:]),
		version: b[4],
		format:  b[5],
		uid:     be.Uint32(b[8:]),
		gid:     be.Uint32(b[12:]),
		nlink:   be.Uint32(b[16:]),
		size:    int64(be.Uint64(b[56:])),
		flags:   be.Uint16(b[90:]),
		gen:     be.Uint32(b[92:]),
		aformat: b[83],
	}
	core := dinodeV2CoreLen
	switch in.version {
	case 1:
		in.nlink = uint32(be.Uint16(b[6:]))
	case 2:
	case 3:
		if !v.sb.hasCRC() {
			return nil, formatErr(off, "inode %d: version 3 on a v4 filesystem", ino)
		}
		if err := v.checkCRC(b, 100, off); err != nil {
			return nil, err
		}
		if got := be.Uint64(b[152:]); got != ino {
			return nil, formatErr(off, "inode %d records number %d", ino, got)
		}
		in.flags2 = be.Uint64(b[120:])
		core = dinodeV3CoreLen
	default:
		return nil, formatErr(off, "inode %d: version %d", ino, in.version)
	}
	if v.sb.hasCRC() && in.version != 3 {
		return nil, formatErr(off, "inode %d: version %d on a v5 filesystem", ino, in.version)
	}
	big := in.flags2&diflag2Bigtime != 0
	in.atime = decodeTime(b[32:], big)
	in.mtime = decodeTime(b[40:], big)
	in.ctime = decodeTime(b[48:], big)
	if in.version == 3 {
		in.crtime = decodeTime(b[144:], big)
	}
	if in.flags2&diflag2Nrext64 != 0 {
		in.nextents = be.Uint64(b[24:])
		in.anextents = uint64(be.Uint32(b[76:]))
	} else {
		in.nextents = uint64(be.Uint32(b[76:]))
		in.anextents = uint64(be.Uint16(b[80:]))
	}
	if in.size < 0 {
		return nil, formatErr(off+56, "inode %d: size %d", ino, in.size)
	}
	// The forks' own copy: b is a slice of a cached cluster, which an
	// inode kept by a caller (a FUSE node keeps its FileInfo) would
	// keep alive whole.
	lit := bytes.Clone(b[core:])
	forkoff := int(b[82]) * 8
	in.dforkAt, in.aforkAt = off+int64(core), off+int64(core+forkoff)
	switch {
	case forkoff == 0:
		in.dfork = lit
	case forkoff >= len(lit):
		return nil, formatErr(off+82, "inode %d: attribute fork offset %d beyond the %d-byte literal area", ino, forkoff, len(lit))
	default:
		in.dfork, in.afork = lit[:forkoff], lit[forkoff:]
	}
	return in, in.checkFormats(off)
}

// checkFormats refuses fork formats that do not belong to the file type,
// so the readers below can trust format as a switch.
func (in *inode) checkFormats(off int64) error {
	ok := false
	switch in.mode & 0o170000 {
	case 0o020000, 0o060000, 0o010000, 0o140000: // char, block, fifo, socket
		ok = in.format == fmtDev
		if len(in.dfork) >= 4 {
			in.rdev = binary.BigEndian.Uint32(in.dfork)
		}
	case 0o040000, 0o120000: // directory, symlink
		ok = in.format == fmtLocal || in.format == fmtExtents || in.format == fmtBtree
	case 0o100000:
		ok = in.format == fmtExtents || in.format == fmtBtree
	default:
		return formatErr(off+2, "inode %d: file type 0%o", in.ino, in.mode&0o170000)
	}
	if !ok {
		return formatErr(off+5, "inode %d: data fork format %d for file type 0%o", in.ino, in.format, in.mode&0o170000)
	}
	if in.afork != nil && in.aformat != fmtLocal && in.aformat != fmtExtents && in.aformat != fmtBtree {
		return formatErr(off+83, "inode %d: attribute fork format %d", in.ino, in.aformat)
	}
	if in.format == fmtLocal && in.size > int64(len(in.dfork)) {
		return formatErr(off+56, "inode %d: %d bytes inline in a fork of %d", in.ino, in.size, len(in.dfork))
	}
	return nil
}

// fileMode turns the inode's mode into an io/fs mode.
func (in *inode) fileMode() fs.FileMode {
	m := fs.FileMode(in.mode & 0o777)
	switch in.mode & 0o170000 {
	case 0o040000:
		m |= fs.ModeDir
	case 0o120000:
		m |= fs.ModeSymlink
	case 0o020000:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case 0o060000:
		m |= fs.ModeDevice
	case 0o010000:
		m |= fs.ModeNamedPipe
	case 0o140000:
		m |= fs.ModeSocket
	}
	if in.mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if in.mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if in.mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

func (in *inode) isDir() bool     { return in.mode&0o170000 == 0o040000 }
func (in *inode) isSymlink() bool { return in.mode&0o170000 == 0o120000 }
func (in *inode) isReg() bool     { return in.mode&0o170000 == 0o100000 }
