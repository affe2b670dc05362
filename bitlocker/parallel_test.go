package bitlocker

import (
	"bytes"
	"sync"
	"testing"
)

// unlockSpec builds a synthetic volume and unlocks it with its first key.
func unlockSpec(t *testing.T, spec volSpec) (*builtVol, *Reader) {
	t.Helper()
	bv := buildVolume(t, spec)
	return bv, unlockOver(t, bv, bytes.NewReader(bv.img))
}

// TestReadSizes reads every synthetic volume through reads of several
// sizes and alignments: below a piece (one goroutine), just over two
// pieces (the parallel path with a short last piece), 1 MiB and odd (a
// FUSE read; more pieces than cores), each starting off any sector
// boundary, so pieces meet the metadata areas, the relocated boot
// sectors, Vista's clear sectors and a conversion's boundary at every
// phase.
func TestReadSizes(t *testing.T) {
	sizes := []int{4096 + 17, 2*pieceBytes + 4096, 1<<20 + 777}
	if raceEnabled {
		sizes = sizes[2:]
	}
	for _, spec := range synthSpecs {
		t.Run(spec.name(), func(t *testing.T) {
			bv, r := unlockSpec(t, spec)
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
		})
	}
}

// TestConcurrentReads has several goroutines read one Reader at once with
// large reads, so that they compete for the helper goroutines (run with
// -race).
func TestConcurrentReads(t *testing.T) {
	bv, r := unlockSpec(t, synthSpecs[1]) // XTS-256, 4096-byte sectors
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20+4096*g)
			for off := int64(g * 512); off+int64(len(buf)) <= int64(len(bv.want)); off += 1 << 19 {
				if _, err := r.ReadAt(buf, off); err != nil {
					t.Error(err)
					return
				}
				if !bytes.Equal(buf, bv.want[off:off+int64(len(buf))]) {
					t.Errorf("goroutine %d: read at %d differs", g, off)
					return
				}
			}
		}()
	}
	wg.Wait()
}
