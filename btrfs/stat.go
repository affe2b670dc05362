package btrfs

import (
	"io/fs"
	"time"
)

// POSIX file type bits of btrfs_inode_item.mode.
const (
	sIFMT   = 0o170000
	sIFSOCK = 0o140000
	sIFLNK  = 0o120000
	sIFREG  = 0o100000
	sIFBLK  = 0o060000
	sIFDIR  = 0o040000
	sIFCHR  = 0o020000
	sIFIFO  = 0o010000
)

// maxXattrBytes bounds the names and values one file's xattrs may total.
const maxXattrBytes = 16 << 20

// FileInfo describes a file. It is its own Sys() value, offering the
// metadata io/fs has no place for: inode identity, link count, owners,
// all four times with nanoseconds, and extended attributes.
type FileInfo struct {
	name string
	r    ref
	in   inode
	v    *Volume
}

var _ fs.FileInfo = (*FileInfo)(nil)

func (fi *FileInfo) Name() string { return fi.name }

// Size is the inode's size: for directories, btrfs counts twice the
// length of the names they hold, as stat(2) shows.
func (fi *FileInfo) Size() int64 { return int64(fi.in.size) }

func (fi *FileInfo) Mode() fs.FileMode {
	m := fs.FileMode(fi.in.mode & 0o777)
	if fi.in.mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if fi.in.mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if fi.in.mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	switch fi.in.mode & sIFMT {
	case sIFDIR:
		m |= fs.ModeDir
	case sIFLNK:
		m |= fs.ModeSymlink
	case sIFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case sIFBLK:
		m |= fs.ModeDevice
	case sIFIFO:
		m |= fs.ModeNamedPipe
	case sIFSOCK:
		m |= fs.ModeSocket
	case sIFREG:
	default:
		m |= fs.ModeIrregular
	}
	return m
}

func (fi *FileInfo) ModTime() time.Time { return fi.in.mtime }
func (fi *FileInfo) IsDir() bool        { return fi.in.mode&sIFMT == sIFDIR }
func (fi *FileInfo) Sys() any           { return fi }

// Ino is the inode number stat(2) shows inside the file's subvolume
// (256 for a subvolume's top directory).
func (fi *FileInfo) Ino() uint64 { return fi.r.ino }

// SubvolumeID is the id of the subvolume (tree) the file lives in.
func (fi *FileInfo) SubvolumeID() uint64 { return fi.r.sv.id }

// FileID is an identity unique across the subvolumes of the volume,
// shared by hard links: the subvolume id above bit 32 and the inode
// number below, which stays under 2^42 (a mount can use it as st_ino)
// for the first thousand subvolumes and four billion inodes; larger
// numbers are mixed into the top half of the range.
func (fi *FileInfo) FileID() uint64 {
	sv, ino := fi.r.sv.id, fi.r.ino
	if sv < 1<<10 && ino < 1<<32 {
		return sv<<32 | ino
	}
	return (sv*0x9e3779b97f4a7c15 ^ ino) | 1<<63
}

// LinkCount is st_nlink.
func (fi *FileInfo) LinkCount() int { return int(fi.in.nlink) }

// POSIXAttributes returns the permission, set-id and sticky bits (07777)
// and the owners.
func (fi *FileInfo) POSIXAttributes() (perm, uid, gid uint32) {
	return fi.in.mode & 0o7777, fi.in.uid, fi.in.gid
}

// DeviceNumber gives the major and minor numbers of a device node (ok
// false for any other file). btrfs stores the kernel's internal dev_t:
// the major above bit 20, the minor below.
func (fi *FileInfo) DeviceNumber() (major, minor uint32, ok bool) {
	switch fi.in.mode & sIFMT {
	case sIFCHR, sIFBLK:
		return uint32(fi.in.rdev >> 20), uint32(fi.in.rdev & 0xfffff), true
	}
	return 0, 0, false
}

func (fi *FileInfo) AccessTime() time.Time   { return fi.in.atime }
func (fi *FileInfo) ChangeTime() time.Time   { return fi.in.ctime }
func (fi *FileInfo) CreationTime() time.Time { return fi.in.otime }

// Xattrs returns the extended attributes by their full names ("user.x",
// "security.selinux", "system.posix_acl_access" in the kernel's binary
// form), as listxattr(2) shows them.
func (fi *FileInfo) Xattrs() (map[string][]byte, error) {
	out := map[string][]byte{}
	if fi.r.stub {
		return out, nil
	}
	total := 0
	err := fi.v.walk(fi.r.sv.tree, key{fi.r.ino, typXattr, 0}, key{fi.r.ino, typXattr, ^uint64(0)}, func(_ key, d []byte) error {
		ok := parseDirItems(d, func(e dirEntry) bool {
			total += len(e.name) + len(e.data)
			out[string(e.name)] = append([]byte(nil), e.data...)
			return true
		})
		if !ok {
			return formatErr(-1, "inode %d: xattr item damaged", fi.r.ino)
		}
		if total > maxXattrBytes {
			return formatErr(-1, "inode %d: xattrs exceed %d bytes", fi.r.ino, maxXattrBytes)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
