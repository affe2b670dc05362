package bitlocker

import (
	"bytes"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
)

// viewImage is a volume image that shows views of itself, cut at
// pseudo-random multiples of 512 bytes, as a VHDX chain's views are cut
// at its blocks and sector runs (for a 4096-byte-sector volume some cuts
// split a sector, and the read goes through ReadAt).
type viewImage struct {
	*bytes.Reader
	img   []byte
	seed  atomic.Uint64
	views atomic.Int64 // reads answered with views
	whole bool         // one view per read, uncut
}

func (v *viewImage) Views(off int64, n int) ([][]byte, bool) {
	if off < 0 || off > int64(len(v.img)) {
		return nil, false
	}
	end := min(off+int64(n), int64(len(v.img)))
	if v.whole {
		return [][]byte{v.img[off:end:end]}, true
	}
	rng := rand.New(rand.NewPCG(v.seed.Add(1), 7))
	var out [][]byte
	for off < end {
		k := min(end-off, 512*int64(1+rng.IntN(600)))
		out = append(out, v.img[off:off+k:off+k])
		off += k
	}
	v.views.Add(1)
	return out, true
}

func unlockOver(t *testing.T, bv *builtVol, r io.ReaderAt) *Reader {
	t.Helper()
	v, err := NewVolume(r, int64(len(bv.img)))
	if err != nil {
		t.Fatal(err)
	}
	for what, k := range bv.keys(t) {
		var rd *Reader
		if what == "clear key" {
			rd, err = v.Unlock()
		} else {
			rd, err = v.Unlock(k)
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return rd
	}
	t.Fatal("no key")
	return nil
}

// TestReadViews reads every synthetic volume through a reader that shows
// views, with reads large enough to take them, and checks the bytes
// against the volume's plaintext: the views path must treat the metadata
// areas, the relocated boot sectors, Vista's clear sectors and a
// conversion's boundary as the ReadAt path does, and never write to a
// view (the image is compared with a copy after).
func TestReadViews(t *testing.T) {
	sizes := []int{minViewRead, 3*pieceBytes + 4096, 1<<20 + 777}
	if raceEnabled {
		sizes = sizes[2:]
	}
	for _, spec := range synthSpecs {
		t.Run(spec.name(), func(t *testing.T) {
			bv := buildVolume(t, spec)
			orig := bytes.Clone(bv.img)
			vi := &viewImage{Reader: bytes.NewReader(bv.img), img: bv.img}
			r := unlockOver(t, bv, vi)
			for _, n := range sizes {
				buf := make([]byte, n)
				for off := int64(n % 1000); off < int64(len(bv.want)); off += int64(n) {
					got, err := r.ReadAt(buf, off)
					want := bv.want[off:min(off+int64(n), int64(len(bv.want)))]
					if got != len(want) || (err != nil && got == n) {
						t.Fatalf("read of %d at %d: %d bytes, %v", n, off, got, err)
					}
					if i := firstDiff(buf[:got], want); i >= 0 {
						t.Fatalf("read of %d at %d differs at byte %d", n, off, off+int64(i))
					}
				}
			}
			if vi.views.Load() == 0 {
				t.Fatal("no read was answered from views")
			}
			if !bytes.Equal(bv.img, orig) {
				t.Fatal("a read wrote to the views")
			}
		})
	}
}
