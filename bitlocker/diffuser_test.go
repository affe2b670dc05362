package bitlocker

import (
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
)

// The diffusers' decryption directions as the paper defines them, one
// word at a time, with the indices wrapping around the sector: the
// unrolled loops of diffuser.go must agree with them for every sector size
// (and the word-by-word fallback for other word counts).
func diffuserADecryptPlain(d []uint32) {
	n := len(d)
	for c := 0; c < aCycles; c++ {
		for i := 0; i < n; i++ {
			d[i] += d[(i+n-2)%n] ^ bits.RotateLeft32(d[(i+n-5)%n], rotA[i%4])
		}
	}
}

func diffuserBDecryptPlain(d []uint32) {
	n := len(d)
	for c := 0; c < bCycles; c++ {
		for i := 0; i < n; i++ {
			d[i] += d[(i+2)%n] ^ bits.RotateLeft32(d[(i+5)%n], rotB[i%4])
		}
	}
}

func TestDiffusers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, words := range []int{6, 10, 13, 18, 128, 256, 512, 1024} {
		w := make([]uint32, words)
		for i := range w {
			w[i] = rng.Uint32()
		}
		for _, d := range []struct {
			name       string
			fast, slow func([]uint32)
			undo       func([]uint32)
		}{
			{"A", diffuserADecrypt, diffuserADecryptPlain, diffuserAEncrypt},
			{"B", diffuserBDecrypt, diffuserBDecryptPlain, diffuserBEncrypt},
		} {
			got, want := slices.Clone(w), slices.Clone(w)
			d.fast(got)
			d.slow(want)
			if !slices.Equal(got, want) || slices.Equal(got, w) {
				t.Fatalf("diffuser %s, %d words: the unrolled decryption differs from the definition", d.name, words)
			}
			d.undo(got)
			if !slices.Equal(got, w) {
				t.Fatalf("diffuser %s, %d words: encryption does not undo decryption", d.name, words)
			}
		}
	}
}
