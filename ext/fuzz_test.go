package ext

import (
	"bytes"
	"io"
	"io/fs"
	"testing"

	"github.com/ckptfs/ckptfs/internal/exttest"
)

// FuzzVolume opens fuzzed volumes and reads everything in them: every
// listing, inode, file, link target and attribute set. Seeds: small
// volumes made by mke2fs (an htree, slow and looping links, block maps,
// inline data) and damaged copies that once crashed or exhausted
// go-diskfs. No input may panic, hang or allocate without bound.
func FuzzVolume(f *testing.F) {
	for _, b := range exttest.FuzzSeeds(f) {
		f.Add(b)
	}
	f.Add(make([]byte, 4096))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := NewFS(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		n := 0
		_ = fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if n++; n > 10000 {
				return fs.SkipAll
			}
			fi, err := d.Info()
			if err != nil {
				return nil
			}
			_, _ = fi.Sys().(*FileInfo).Xattrs()
			switch {
			case d.Type().IsRegular():
				if f, err := v.Open(p); err == nil {
					// Sizes go up to 2^32 blocks: read the head only.
					_, _ = io.Copy(io.Discard, io.LimitReader(f, 1<<20))
					_, _, _ = f.(*File).Extents()
					f.Close()
				}
			case d.Type()&fs.ModeSymlink != 0:
				_, _ = v.ReadLink(p)
				_, _ = v.Stat(p)
			}
			return nil
		})
	})
}

// FuzzInodes reads a volume by inode number, as diff's inode comparison
// does: the inodes in ranges of the inode tables, each one's description,
// a directory's listing and its ".." entry, the directories of a group.
func FuzzInodes(f *testing.F) {
	for _, b := range exttest.FuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := NewFS(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		n := 0
		for off := int64(0); off < int64(len(b)) && n < 2000; off += 64 << 10 {
			for _, ino := range v.InodesIn(off, off+64<<10) {
				if n++; n > 2000 {
					break
				}
				_, _ = v.InodeBytes(ino)
				fi, ok, err := v.InodeInfo(ino)
				if err != nil || !ok {
					continue
				}
				if fi.IsDir() {
					_, _, _ = v.InodeDir(ino)
				} else if f, err := v.OpenInode(ino); err == nil {
					_, _, _ = f.Extents()
				}
			}
		}
		for g := range min(v.InodeGroups(), 4) {
			_, _ = v.GroupInodes(g, g%2 == 0)
		}
		_, _, _ = v.InodeDir(v.RootInode())
	})
}
