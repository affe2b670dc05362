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
