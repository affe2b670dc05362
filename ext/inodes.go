package ext

import (
	"encoding/binary"
	"slices"
)

// Inodes by number, for comparing two states of one volume by the inodes
// that lie in the byte ranges that changed (package diff, through
// guest.InodeFS) instead of walking both trees.

// InodeEntry is one name of a directory listed by inode.
type InodeEntry struct {
	Name string
	Ino  uint64
}

// Inodes is the number of inode slots; inodes are numbered from 1.
func (v *FS) Inodes() uint64 { return v.geo.groups * v.geo.inodesPerGroup }

// RootInode is the root directory's inode.
func (v *FS) RootInode() uint64 { return rootIno }

// InodeGroups is the number of block groups, each with its inode table.
func (v *FS) InodeGroups() uint64 { return v.geo.groups }

// InodeGroup is the group whose table holds inode ino: the kernel's
// allocator (Orlov) puts a file's inode in its directory's group when it
// can, so a file's names are most likely in that group's directories.
func (v *FS) InodeGroup(ino uint64) uint64 {
	if ino == 0 {
		return 0
	}
	return (ino - 1) / v.geo.inodesPerGroup
}

// userInode tells whether ino can be a file of the tree: the root, or a
// number past the reserved ones that the superblock does not keep for
// itself (quota files, the orphan file, the journal).
func (v *FS) userInode(ino uint64) bool {
	if ino == rootIno {
		return true
	}
	if ino < v.geo.firstIno || ino == uint64(v.geo.journalIno) || ino > v.Inodes() {
		return false
	}
	return !slices.Contains(v.geo.hidden, uint32(ino))
}

// InodesIn returns, ascending, the inodes that may be files of the tree
// (see userInode) whose slots have a byte in the volume range [off, end),
// whether in use or not.
func (v *FS) InodesIn(off, end int64) []uint64 {
	var out []uint64
	isz := v.geo.inodeSize
	tableSize := int64(v.geo.inodesPerGroup) * isz
	for g, t := range v.tables {
		lo, hi := max(off, t), min(end, t+tableSize)
		if lo >= hi {
			continue
		}
		for i := (lo - t) / isz; i <= (hi-t-1)/isz; i++ {
			if ino := uint64(g)*v.geo.inodesPerGroup + uint64(i) + 1; v.userInode(ino) {
				out = append(out, ino)
			}
		}
	}
	slices.Sort(out)
	return out
}

// InodeBytes returns a copy of inode ino's slot as stored.
func (v *FS) InodeBytes(ino uint64) ([]byte, error) {
	in, err := v.inode(uint32(min(ino, 1<<32-1)))
	if err != nil {
		return nil, err
	}
	return slices.Clone(in.b), nil
}

// InodeInfo describes inode ino, named by its number; ok is false for a
// slot that holds no file of the tree: free (no mode or no links: an
// orphan being deleted has none either), reserved, or out of range.
func (v *FS) InodeInfo(ino uint64) (fi *FileInfo, ok bool, err error) {
	if !v.userInode(ino) {
		return nil, false, nil
	}
	in, err := v.inode(uint32(ino))
	if err != nil {
		return nil, false, err
	}
	if in.mode() == 0 || in.u16(inodeLinks) == 0 {
		return nil, false, nil
	}
	fi, err = v.info(in, "")
	if err != nil {
		return nil, false, err
	}
	return fi, true, nil
}

// InodeDir returns the entries of directory inode ino, sorted by name,
// without "." and "..", and its parent: the inode of its ".." entry.
func (v *FS) InodeDir(ino uint64) (ents []InodeEntry, parent uint64, err error) {
	in, err := v.inode(uint32(min(ino, 1<<32-1)))
	if err != nil {
		return nil, 0, err
	}
	list, err := v.readDir(in)
	if err != nil {
		return nil, 0, err
	}
	ents = make([]InodeEntry, len(list))
	for i, e := range list {
		ents[i] = InodeEntry{Name: e.name, Ino: uint64(e.ino)}
	}
	parent, err = v.dotdot(in)
	return ents, parent, err
}

// dotdot reads the ".." entry of directory in: the second entry of its
// first block (in an htree directory too, whose root block begins with
// "." and ".."), or the first four bytes of inline data.
func (v *FS) dotdot(in *inode) (uint64, error) {
	size := in.size()
	c, err := v.contentOf(in, size)
	if err != nil {
		return 0, err
	}
	if c.isInl {
		if len(c.inline) < 4 {
			return 0, formatErr(in.off, "inode %d: inline directory of %d bytes", in.ino, len(c.inline))
		}
		return uint64(binary.LittleEndian.Uint32(c.inline)), nil
	}
	b := make([]byte, min(size, v.geo.blockSize))
	if _, err := c.readAt(b, 0); err != nil {
		return 0, err
	}
	if len(b) < dirEntryHeader {
		return 0, formatErr(in.off, "inode %d: directory of %d bytes has no \"..\"", in.ino, size)
	}
	rec := int(binary.LittleEndian.Uint16(b[4:]))
	if rec < dirEntryHeader || rec+dirEntryHeader+2 > len(b) || b[rec+dirEntryHeader] != '.' || b[rec+dirEntryHeader+1] != '.' {
		return 0, formatErr(in.off, "inode %d: the second entry of the directory is not \"..\"", in.ino)
	}
	return uint64(binary.LittleEndian.Uint32(b[rec:])), nil
}

// GroupInodes returns the inodes in use in group g (a mode and links),
// only the directories when dirs is set.
func (v *FS) GroupInodes(g uint64, dirs bool) ([]uint64, error) {
	if g >= v.geo.groups {
		return nil, nil
	}
	var out []uint64
	first := g*v.geo.inodesPerGroup + 1
	for ino := first; ino < first+v.geo.inodesPerGroup; ino++ {
		if !v.userInode(ino) {
			continue
		}
		in, err := v.inode(uint32(ino))
		if err != nil {
			return out, err
		}
		if in.mode() != 0 && in.u16(inodeLinks) != 0 && (!dirs || in.isDir()) {
			out = append(out, ino)
		}
	}
	return out, nil
}

// OpenInode opens the data of inode ino.
func (v *FS) OpenInode(ino uint64) (*File, error) {
	fi, ok, err := v.InodeInfo(ino)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, formatErr(0, "inode %d holds no file", ino)
	}
	return &File{v: v, fi: fi, path: fi.name}, nil
}

// NanosecondTimes tells whether inodes have room for the extra time
// fields (nanoseconds): a volume of 128-byte inodes keeps whole seconds.
func (v *FS) NanosecondTimes() bool { return v.geo.inodeSize > 128 }
