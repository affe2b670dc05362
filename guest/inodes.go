package guest

import "io/fs"

// InodeFS is implemented by a filesystem that keeps each file's metadata
// in an inode at a place its number gives (ext: the inode tables of the
// block groups; XFS: inode chunks whose numbers encode their place), with
// names only in directories: no inode says where it is named. Package
// diff uses it, like RecordFS, to compare two states of one volume by the
// inodes that lie in the changed byte ranges; it finds names itself, from
// the listings of the changed directories and, for a file changed in
// place, by searching the directories of its inode's group first (the
// Linux allocators put a file near its directory), then all of them.
//
// ext and XFS implement it.
//
// Every method reads one state only; inode numbers are the same file's in
// both states unless its generation (FileGenerationer) differs.
type InodeFS interface {
	// InodeRoot is the root directory's inode.
	InodeRoot() uint64
	// InodesIn returns, ascending, the inodes whose slots have a byte in
	// the volume range [off, end), in use or not; inodes the filesystem
	// keeps for itself (journal, quota) are left out.
	InodesIn(off, end int64) []uint64
	// InodeBytes is the inode's slot as stored, to tell an inode that was
	// written again with the same bytes.
	InodeBytes(num uint64) ([]byte, error)
	// InodeInfo describes the file in inode num; ok is false, with a nil
	// error, for a slot that holds no file. Its Sys() offers the
	// contract's metadata (identity, generation, link count).
	InodeInfo(num uint64) (fi fs.FileInfo, ok bool, err error)
	// InodeDir lists directory num (without "." and "..") sorted by
	// name, and gives its parent (its ".." entry).
	InodeDir(num uint64) (ents []InodeEntry, parent uint64, err error)
	// InodeGroups is the number of allocation groups (ext block groups,
	// XFS allocation groups); InodeGroup the group of an inode.
	InodeGroups() uint64
	InodeGroup(num uint64) uint64
	// GroupInodes returns the inodes in use in group g, only the
	// directories when dirs is set.
	GroupInodes(g uint64, dirs bool) ([]uint64, error)
	// OpenInode opens the data of the file in inode num.
	OpenInode(num uint64) (StreamFile, error)
	// InodesComparable is nil when the changed inodes show every change
	// the kernel made, else why not: a journal or log replayed in memory
	// (the changed ranges do not show what the replay changed), times of
	// whole seconds (ext 128-byte inodes: a change in the same second
	// may leave an inode as it was).
	InodesComparable() error
}

// InodeEntry is one name of a directory listed by inode.
type InodeEntry struct {
	Name string
	Ino  uint64
}
