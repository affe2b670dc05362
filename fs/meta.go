package fs

import (
	iofs "io/fs"
	"time"
)

// The interfaces below are optional extras a filesystem below (package
// ntfs, through package guest) can offer to say what io/fs cannot. The
// tree finds them by type assertion on FileInfo.Sys() (or, for StreamFS,
// on the fs.FS itself); a filesystem offering none of them still mounts,
// with path-based inode numbers, mtime for every time, and no xattrs.

// POSIXLinker is implemented by filesystems (on the fs.FS itself) whose
// link targets are POSIX paths (ext): a backslash or "C:" is then part of
// a name. Link targets of any other filesystem follow the Windows rules
// of rewriteLink.
type POSIXLinker interface {
	POSIXLinks() bool
}

// POSIXAttributer is implemented by a FileInfo.Sys() value whose
// filesystem keeps POSIX permissions and owners (ext): the tree shows them
// as they are, so that `cp -a` run as root restores a Linux guest's files
// with their modes and owners. perm holds the permission, set-id and
// sticky bits (07777).
type POSIXAttributer interface {
	POSIXAttributes() (perm, uid, gid uint32)
}

// FileIdentity is implemented by a FileInfo.Sys() value whose filesystem
// knows an identity shared by all names of one file (NTFS: the MFT
// reference). Names with the same identity are one inode (hard links).
type FileIdentity interface {
	FileID() uint64
}

// CreationTimer gives a file's creation (birth) time.
type CreationTimer interface {
	CreationTime() time.Time
}

// AccessTimer gives a file's last access time (atime).
type AccessTimer interface {
	AccessTime() time.Time
}

// ChangeTimer gives a file's last metadata change time (ctime; NTFS: the
// MFT record change time).
type ChangeTimer interface {
	ChangeTime() time.Time
}

// WindowsAttributer gives a file's Windows FILE_ATTRIBUTE_* flags, shown
// as the xattr user.ckptfs.attributes. The read-only flag does not change
// the mode bits: everything in the tree is read-only already.
type WindowsAttributer interface {
	WindowsAttributes() uint32
}

// LinkCounter gives the number of names a file has (st_nlink).
type LinkCounter interface {
	LinkCount() int
}

// StreamLister names a file's alternate data streams, not counting the
// unnamed main stream.
type StreamLister interface {
	StreamNames() []string
}

// StreamFS is implemented by a filesystem that can open a named data
// stream of a file. The returned file is read through io.ReaderAt when it
// has it, else sequentially.
type StreamFS interface {
	iofs.FS
	OpenStream(name, stream string) (iofs.File, error)
}
