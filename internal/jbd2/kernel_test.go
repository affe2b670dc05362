//go:build linux

package jbd2

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// frozenImage builds (once) testdata/out/jbd2/VARIANT.*: an ext image
// copied while mounted, its journal, and the kernel's replay of it.
func frozenImage(t *testing.T, variant string) (img, journal, replayed string, jblocks map[uint64]bool) {
	t.Helper()
	img, replayed = testutil.FrozenExtImage(t, variant)
	base := strings.TrimSuffix(img, ".img")
	f, err := os.Open(base + ".jblocks")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	jblocks = map[uint64]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n, err := strconv.ParseUint(strings.TrimSpace(sc.Text()), 10, 64)
		if err != nil {
			t.Fatalf("%s.jblocks: %v", base, err)
		}
		jblocks[n] = true
	}
	return img, base + ".journal", replayed, jblocks
}

// TestReplayMatchesKernel replays each frozen image's journal in memory
// and compares the volume block by block with the kernel's replay of a
// copy. Only the ext superblock (the kernel clears needs_recovery and
// counts the mount) and the journal itself (the kernel marks it empty)
// may differ.
func TestReplayMatchesKernel(t *testing.T) {
	for _, variant := range []string{"v3", "ext3", "v1csum", "wrap"} {
		t.Run(variant, func(t *testing.T) {
			img, journal, replayed, jblocks := frozenImage(t, variant)
			vol, err := os.ReadFile(img)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(replayed)
			if err != nil {
				t.Fatal(err)
			}
			jf, err := os.Open(journal)
			if err != nil {
				t.Fatal(err)
			}
			defer jf.Close()
			st, _ := jf.Stat()
			log, err := Replay(jf, st.Size(), 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d transactions from %d, %d blocks, %d revoked, %d bad", log.Transactions,
				log.FirstSequence, log.Blocks, log.Revoked, log.BadBlocks)
			if log.Transactions == 0 || log.Blocks == 0 || log.BadBlocks != 0 {
				t.Fatalf("replay found %d transactions, %d blocks, %d bad", log.Transactions, log.Blocks, log.BadBlocks)
			}
			got := make([]byte, len(vol))
			if _, err := log.Overlay(bytes.NewReader(vol), int64(len(vol))).ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			bs := log.BlockSize
			var stale, wrong int
			for b := 0; b*bs < len(vol); b++ {
				if jblocks[uint64(b)] {
					continue
				}
				lo, hi := b*bs, (b+1)*bs
				w, g, v := want[lo:hi], got[lo:hi], vol[lo:hi]
				if lo <= 1024 && 2048 <= hi { // the ext superblock
					w, g, v = cut(w, 1024-lo), cut(g, 1024-lo), cut(v, 1024-lo)
				}
				if !bytes.Equal(v, w) {
					stale++
				}
				if !bytes.Equal(g, w) {
					wrong++
					if wrong <= 5 {
						t.Errorf("block %d differs from the kernel's replay", b)
					}
				}
			}
			if wrong > 0 {
				t.Errorf("%d blocks differ from the kernel's replay", wrong)
			}
			if stale == 0 {
				t.Errorf("the frozen image already equals the kernel's replay: the fixture tests nothing")
			}
			t.Logf("%d blocks the replay brings up to date", stale)
		})
	}
}

// cut removes the 1024-byte ext superblock at off from a copy of b.
func cut(b []byte, off int) []byte {
	return append(append([]byte(nil), b[:off]...), b[off+1024:]...)
}
