package bitlocker

import (
	"bytes"
	"crypto/aes"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/xts"
)

// TestXTSMatchesXCrypto checks the CBC-based XTS against
// golang.org/x/crypto/xts, both directions, for both key and sector sizes.
func TestXTSMatchesXCrypto(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, keyLen := range []int{32, 64} {
		for _, ss := range []int{512, 4096} {
			key := make([]byte, keyLen)
			fill(rng, key)
			ref, err := xts.NewCipher(aes.NewCipher, key)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := newXTS(key, ss)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 20; i++ {
				pos := int64(rng.IntN(1<<20)) * int64(ss)
				n := ss * (1 + i%5) // runs of up to five sectors
				ct := make([]byte, n)
				fill(rng, ct)
				want := make([]byte, n)
				for off := 0; off < n; off += ss {
					ref.Decrypt(want[off:off+ss], ct[off:off+ss], uint64(pos)/uint64(ss)+uint64(off/ss))
				}
				got := bytes.Clone(ct)
				ours.decrypt(got, got, pos)
				if !bytes.Equal(got, want) {
					t.Fatalf("key %d, sector %d: decryption differs from x/crypto/xts", keyLen, ss)
				}
				ours.encrypt(got, pos)
				if !bytes.Equal(got, ct) {
					t.Fatalf("key %d, sector %d: encrypt(decrypt(x)) != x", keyLen, ss)
				}
			}
		}
	}
}

// TestCipherRoundTrip checks that every method's decryption of a run of
// sectors in one call (in place and into another buffer) undoes the
// encryption of each sector on its own: the encoders build the synthetic
// volumes of other tests, and the run's chunking, the CBC chain running
// on across sectors and the diffuser's unrolled loops must all agree with
// the plain per-sector definitions.
func TestCipherRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, m := range []Method{AESCBC128, AESCBC256, AESCBC128Elephant, AESCBC256Elephant, AESXTS128, AESXTS256} {
		for _, ss := range []int{512, 4096} {
			key := make([]byte, 64)
			fill(rng, key)
			c, err := newSectorCipher(m, key, ss)
			if err != nil {
				t.Fatal(err)
			}
			for _, sectors := range []int{1, 2, 37} {
				pos := int64(ss) * int64(7+rng.IntN(1<<20))
				plain := make([]byte, sectors*ss)
				fill(rng, plain)
				enc := bytes.Clone(plain)
				for off := 0; off < len(enc); off += ss {
					c.encrypt(enc[off:off+ss], pos+int64(off))
				}
				if bytes.Equal(enc[:ss], plain[:ss]) {
					t.Fatalf("%v: encryption changed nothing", m)
				}
				out := make([]byte, len(enc))
				c.decrypt(out, enc, pos)
				if i := firstDiff(out, plain); i >= 0 {
					t.Fatalf("%v/%d, %d sectors: decryption into another buffer differs at byte %d", m, ss, sectors, i)
				}
				// A buffer not aligned to four bytes: the diffusers
				// work on a copy of each sector's words (wordsOf).
				odd := make([]byte, len(enc)+1)[1:]
				c.decrypt(odd, enc, pos)
				if i := firstDiff(odd, plain); i >= 0 {
					t.Fatalf("%v/%d, %d sectors: decryption into an unaligned buffer differs at byte %d", m, ss, sectors, i)
				}
				c.decrypt(enc, enc, pos)
				if i := firstDiff(enc, plain); i >= 0 {
					t.Fatalf("%v/%d, %d sectors: decryption in place differs at byte %d", m, ss, sectors, i)
				}
			}
		}
	}
}

func fill(rng *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}
