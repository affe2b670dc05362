package guest

import (
	"fmt"
	"io/fs"
)

// The XFS side of InodeFS: package xfs's inode access, in the contract's
// types.

var _ InodeFS = (*xfsFS)(nil)

// InodeRoot is the superblock's root inode.
func (v *xfsFS) InodeRoot() uint64 { return v.FS.RootInode() }

// InodeInfo describes inode num.
func (v *xfsFS) InodeInfo(num uint64) (fs.FileInfo, bool, error) {
	fi, ok, err := v.FS.InodeInfo(num)
	if !ok || err != nil {
		return nil, ok, err
	}
	return fi, true, nil
}

// InodeDir lists directory num.
func (v *xfsFS) InodeDir(num uint64) ([]InodeEntry, uint64, error) {
	ents, parent, err := v.FS.InodeDir(num)
	if err != nil {
		return nil, 0, err
	}
	out := make([]InodeEntry, len(ents))
	for i, e := range ents {
		out[i] = InodeEntry(e)
	}
	return out, parent, nil
}

// OpenInode opens inode num's data.
func (v *xfsFS) OpenInode(num uint64) (StreamFile, error) {
	f, err := v.FS.OpenInode(num)
	if err != nil {
		return nil, err
	}
	return &xfsStream{xfsFile{f}}, nil
}

// xfsStream is an XFS file opened by inode, with its size.
type xfsStream struct{ xfsFile }

func (f *xfsStream) Size() int64 {
	fi, _ := f.File.Stat()
	return fi.Size()
}

// InodesComparable refuses a volume whose log was dirty (replayed in
// memory: what the replay changed is not in the changed ranges).
func (v *xfsFS) InodesComparable() error {
	if s := v.JournalState(); s != "" {
		return fmt.Errorf("its log needed recovery (%s)", s)
	}
	return nil
}
