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
				ct := make([]byte, ss)
				fill(rng, ct)
				want := make([]byte, ss)
				ref.Decrypt(want, ct, uint64(pos)/uint64(ss))
				got := bytes.Clone(ct)
				ours.decrypt(got, pos)
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

// TestCipherRoundTrip checks that every method's encryption undoes its
// decryption (the encoders build the synthetic volumes of other tests),
// and that the diffuser's unrolled loops agree with the plain definition
// that encryption inverts.
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
			plain := make([]byte, ss)
			fill(rng, plain)
			buf := bytes.Clone(plain)
			c.encrypt(buf, 4096*7)
			if bytes.Equal(buf, plain) {
				t.Fatalf("%v: encryption changed nothing", m)
			}
			c.decrypt(buf, 4096*7)
			if !bytes.Equal(buf, plain) {
				t.Fatalf("%v/%d: decrypt(encrypt(x)) != x", m, ss)
			}
		}
	}
}

func fill(rng *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}
