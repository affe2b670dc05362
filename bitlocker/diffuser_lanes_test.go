package bitlocker

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// laneCounts are the group sizes to test here: the Go definition's odd
// counts everywhere, and what the assembly has on this machine.
func laneCounts() []int {
	out := []int{1, 3}
	if simdLanes >= 4 {
		out = append(out, 4)
	}
	if simdLanes >= 8 {
		out = append(out, 8)
	}
	return out
}

// TestDiffuseLanes checks a group through diffuseLanes against the
// per-word definitions of the diffusers and the key XOR, sector by
// sector, for every sector size, in buffers at every alignment.
func TestDiffuseLanes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, ss := range []int{512, 1024, 2048, 4096} {
		n := ss / 4
		for _, lanes := range laneCounts() {
			for _, shift := range []int{0, 1, 4, 12} {
				t.Run(fmt.Sprintf("%d/%d/%d", ss, lanes, shift), func(t *testing.T) {
					raw := make([]byte, lanes*ss+shift)
					buf := raw[shift:]
					for i := range buf {
						buf[i] = byte(rng.Uint32())
					}
					var keys laneKeys
					for s := range keys {
						for i := range keys[s] {
							keys[s][i] = byte(rng.Uint32())
						}
					}
					want := make([]byte, len(buf))
					w := make([]uint32, n)
					for s := 0; s < lanes; s++ {
						for i := range w {
							w[i] = binary.LittleEndian.Uint32(buf[s*ss+4*i:])
						}
						diffuserBDecryptPlain(w)
						diffuserADecryptPlain(w)
						for i := range w {
							binary.LittleEndian.PutUint32(want[s*ss+4*i:], w[i]^binary.LittleEndian.Uint32(keys[s][4*(i%8):]))
						}
					}
					diffuseLanes(buf, n, lanes, &keys, newLaneScratch(n, lanes))
					if !bytes.Equal(buf, want) {
						for s := 0; s < lanes; s++ {
							if !bytes.Equal(buf[s*ss:(s+1)*ss], want[s*ss:(s+1)*ss]) {
								t.Fatalf("sector %d of the group differs from the definition", s)
							}
						}
					}
				})
			}
		}
	}
}

// TestElephantGroups decrypts runs of 1 to 20 and 37 sectors of every
// sector size with the sectors in groups (every group size this machine's
// assembly has, and 3 through the Go definition) and checks them against
// the per-sector decryption and the encryption: whole groups, tails of
// fewer sectors, in place, into another buffer, and into one not aligned
// to four bytes.
func TestElephantGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	counts := []int{37}
	for k := 1; k <= 20; k++ {
		counts = append(counts, k)
	}
	for _, m := range []Method{AESCBC128Elephant, AESCBC256Elephant} {
		for _, ss := range []int{512, 1024, 2048, 4096} {
			key := make([]byte, 64)
			fill(rng, key)
			ref, err := newSectorCipher(m, key, ss)
			if err != nil {
				t.Fatal(err)
			}
			ref.(*cbcCipher).lanes = 0
			for _, lanes := range laneCounts() {
				c, _ := newSectorCipher(m, key, ss)
				c.(*cbcCipher).lanes = lanes
				for _, sectors := range counts {
					pos := int64(ss) * int64(rng.IntN(1<<20))
					plain := make([]byte, sectors*ss)
					fill(rng, plain)
					enc := bytes.Clone(plain)
					ref.encrypt(enc, pos)
					want := make([]byte, len(enc))
					ref.decrypt(want, enc, pos)
					if i := firstDiff(want, plain); i >= 0 {
						t.Fatalf("%v/%d, %d sectors one by one: decryption differs at byte %d", m, ss, sectors, i)
					}
					out := make([]byte, len(enc))
					c.decrypt(out, enc, pos)
					if i := firstDiff(out, plain); i >= 0 {
						t.Fatalf("%v/%d, groups of %d, %d sectors: decryption into another buffer differs at byte %d", m, ss, lanes, sectors, i)
					}
					odd := make([]byte, len(enc)+3)[3:]
					c.decrypt(odd, enc, pos)
					if i := firstDiff(odd, plain); i >= 0 {
						t.Fatalf("%v/%d, groups of %d, %d sectors: decryption into an unaligned buffer differs at byte %d", m, ss, lanes, sectors, i)
					}
					c.decrypt(enc, enc, pos)
					if i := firstDiff(enc, plain); i >= 0 {
						t.Fatalf("%v/%d, groups of %d, %d sectors: decryption in place differs at byte %d", m, ss, lanes, sectors, i)
					}
				}
			}
		}
	}
}
