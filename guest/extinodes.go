package guest

import (
	"errors"
	"fmt"
	"io/fs"
)

// The ext side of InodeFS: package ext's inode access, in the contract's
// types.

var _ InodeFS = (*extFS)(nil)

// InodeRoot is inode 2.
func (v *extFS) InodeRoot() uint64 { return v.FS.RootInode() }

// InodeInfo describes inode num.
func (v *extFS) InodeInfo(num uint64) (fs.FileInfo, bool, error) {
	fi, ok, err := v.FS.InodeInfo(num)
	if !ok || err != nil {
		return nil, ok, err
	}
	return fi, true, nil
}

// InodeDir lists directory num.
func (v *extFS) InodeDir(num uint64) ([]InodeEntry, uint64, error) {
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
func (v *extFS) OpenInode(num uint64) (StreamFile, error) {
	f, err := v.FS.OpenInode(num)
	if err != nil {
		return nil, err
	}
	return &extStream{extFile{f}}, nil
}

// extStream is an ext file opened by inode, with its size.
type extStream struct{ extFile }

func (f *extStream) Size() int64 {
	fi, _ := f.File.Stat()
	return fi.Size()
}

// InodesComparable refuses a volume whose journal needed recovery (what
// the replay changed is not in the changed ranges) or whose inodes keep
// whole seconds.
func (v *extFS) InodesComparable() error {
	if s := v.JournalState(); s != "" {
		return fmt.Errorf("its journal needed recovery (%s)", s)
	}
	if !v.FS.NanosecondTimes() {
		return errors.New("its inodes keep times of whole seconds")
	}
	return nil
}
