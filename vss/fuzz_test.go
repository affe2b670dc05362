package vss

import (
	"bytes"
	"sync"
	"testing"
)

// synthCopy returns a fresh copy of the synthetic volume, built once.
var synthCopy = func() func() []byte {
	once := sync.OnceValue(synthVolume)
	return func() []byte { return bytes.Clone(once()) }
}()

// exercise opens every store of img and reads it through, as a mount
// would; nothing may panic, hang or allocate without bound.
func exercise(img []byte) {
	v, err := NewVolume(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		return
	}
	buf := make([]byte, 3*BlockSize+100)
	for _, s := range v.Stores() {
		r, err := s.Open()
		if err != nil {
			continue
		}
		for off := int64(0); off < r.Size(); off += int64(len(buf)) - 77 {
			r.ReadAt(buf, off)
		}
		r.Extents(0, r.Size())
		r.Extents(r.Size()/3, BlockSize+5)
	}
}

// FuzzCatalog mutates the volume header and the catalog block of the
// synthetic volume.
func FuzzCatalog(f *testing.F) {
	img := synthVolume()
	f.Add(img[HeaderOffset:HeaderOffset+512], img[blk(1):blk(2)])
	f.Fuzz(func(t *testing.T, hdr, cat []byte) {
		img := synthCopy()
		copy(img[HeaderOffset:HeaderOffset+512], hdr)
		copy(img[blk(1):blk(2)], cat)
		exercise(img)
	})
}

// FuzzStore mutates a store's header, block list and bitmap blocks.
func FuzzStore(f *testing.F) {
	img := synthVolume()
	f.Add(img[blk(2):blk(2)+1024], img[blk(3):blk(4)], img[blk(9):blk(9)+1024])
	f.Add(img[blk(6):blk(6)+1024], img[blk(7):blk(8)], img[blk(10):blk(10)+1024])
	f.Fuzz(func(t *testing.T, header, list, bitmap []byte) {
		img := synthCopy()
		copy(img[blk(2):blk(3)], header)
		copy(img[blk(3):blk(4)], list)
		copy(img[blk(9):blk(10)], bitmap)
		exercise(img)
	})
}
