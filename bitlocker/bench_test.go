package bitlocker

import (
	"bytes"
	"testing"
)

// benchCipher measures in-place decryption of 1 MiB with each cipher, the
// rate a read of the mounted volume can reach at most.
func benchCipher(b *testing.B, m Method, sectorSize int) {
	key := bytes.Repeat([]byte{0x5a}, 64)
	c, err := newSectorCipher(m, key, sectorSize)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for off := 0; off < len(buf); off += sectorSize {
			c.decrypt(buf[off:off+sectorSize], int64(off))
		}
	}
}

func BenchmarkDecryptXTS128(b *testing.B)         { benchCipher(b, AESXTS128, 512) }
func BenchmarkDecryptXTS256(b *testing.B)         { benchCipher(b, AESXTS256, 512) }
func BenchmarkDecryptXTS128_4K(b *testing.B)      { benchCipher(b, AESXTS128, 4096) }
func BenchmarkDecryptCBC128(b *testing.B)         { benchCipher(b, AESCBC128, 512) }
func BenchmarkDecryptCBC256(b *testing.B)         { benchCipher(b, AESCBC256, 512) }
func BenchmarkDecryptElephant128(b *testing.B)    { benchCipher(b, AESCBC128Elephant, 512) }
func BenchmarkDecryptElephant256_4K(b *testing.B) { benchCipher(b, AESCBC256Elephant, 4096) }
