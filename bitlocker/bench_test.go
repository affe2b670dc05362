//go:build linux

package bitlocker

import (
	"bytes"
	"crypto/aes"
	"io"
	"syscall"
	"testing"
	"time"
)

// benchCipher measures in-place decryption of 1 MiB with each cipher, the
// rate a read of the mounted volume can reach at most.
func benchCipher(b *testing.B, m Method, sectorSize int) { benchCipherLanes(b, m, sectorSize, -1) }

// benchCipherLanes is benchCipher with CBC + Elephant's sector groups of
// the given size (0: one sector at a time); -1 keeps the machine's.
func benchCipherLanes(b *testing.B, m Method, sectorSize, lanes int) {
	key := bytes.Repeat([]byte{0x5a}, 64)
	c, err := newSectorCipher(m, key, sectorSize)
	if err != nil {
		b.Fatal(err)
	}
	if cc, ok := c.(*cbcCipher); ok && lanes >= 0 {
		cc.lanes = lanes
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		c.decrypt(buf, buf, 0)
	}
	reportCPURate(b, cpu0, int64(b.N)*int64(len(buf)))
}

// cpuTime is the CPU time this process has used. On a machine shared with
// other work the wall-clock MB/s understates what one core does; MB/cpu-s
// (bytes per second of CPU time spent) is the per-core rate.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPURate(b *testing.B, cpu0 time.Duration, n int64) {
	if d := cpuTime() - cpu0; d > 0 {
		b.ReportMetric(float64(n)/d.Seconds()/1e6, "MB/cpu-s")
	}
}

func BenchmarkDecryptXTS128(b *testing.B)         { benchCipher(b, AESXTS128, 512) }
func BenchmarkDecryptXTS256(b *testing.B)         { benchCipher(b, AESXTS256, 512) }
func BenchmarkDecryptXTS128_4K(b *testing.B)      { benchCipher(b, AESXTS128, 4096) }
func BenchmarkDecryptCBC128(b *testing.B)         { benchCipher(b, AESCBC128, 512) }
func BenchmarkDecryptCBC256(b *testing.B)         { benchCipher(b, AESCBC256, 512) }
func BenchmarkDecryptElephant128(b *testing.B)    { benchCipher(b, AESCBC128Elephant, 512) }
func BenchmarkDecryptElephant256_4K(b *testing.B) { benchCipher(b, AESCBC256Elephant, 4096) }

// The Elephant groups of four sectors (SSE2, what an amd64 CPU without
// AVX2 uses), and one sector at a time (the purego build tag's and other
// architectures' decryption).
func BenchmarkDecryptElephant128_4Lanes(b *testing.B) {
	benchCipherLanes(b, AESCBC128Elephant, 512, min(simdLanes, 4))
}
func BenchmarkDecryptElephant128_1Sector(b *testing.B) {
	benchCipherLanes(b, AESCBC128Elephant, 512, 0)
}

// BenchmarkDiffuserA and BenchmarkDiffuserB time one 512-byte sector
// through each diffuser's decryption.
func BenchmarkDiffuserA(b *testing.B) { benchDiffuser(b, diffuserADecrypt) }
func BenchmarkDiffuserB(b *testing.B) { benchDiffuser(b, diffuserBDecrypt) }

func benchDiffuser(b *testing.B, f func([]uint32)) {
	w := make([]uint32, 128)
	b.SetBytes(512)
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		f(w)
	}
	reportCPURate(b, cpu0, int64(b.N)*512)
}

// BenchmarkStretch is the cost of one password or recovery-password try.
func BenchmarkStretch(b *testing.B) {
	k := Password("anaconda")
	salt := make([]byte, 16)
	for i := 0; i < b.N; i++ {
		stretch(k.secret, salt)
	}
}

// BenchmarkAESBlock is the reference: one crypto/aes block decryption, the
// step every cipher above repeats; on a shared machine the ratio to it is
// steadier than the absolute rate.
func BenchmarkAESBlock(b *testing.B) {
	c, _ := aes.NewCipher(make([]byte, 16))
	buf := make([]byte, 16)
	b.SetBytes(16)
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		c.Decrypt(buf, buf)
	}
	reportCPURate(b, cpu0, int64(b.N)*16)
}

// BenchmarkReaderXTS128 reads a built 64 MiB AES-XTS-128 volume through
// Reader.ReadAt in 1 MiB pieces (what a FUSE read of the mount asks for):
// the decryption plus the Reader's own work, from memory. In
// BenchmarkReaderXTS128Views the volume's reader shows views (as a VHDX
// chain of local files does), so each read decrypts from them straight
// into the buffer instead of reading into the buffer and decrypting it
// in place.
func BenchmarkReaderXTS128(b *testing.B)      { benchReader(b, false) }
func BenchmarkReaderXTS128Views(b *testing.B) { benchReader(b, true) }

func benchReader(b *testing.B, views bool) {
	bv := buildVolume(b, volSpec{kind: KindWindows7, method: AESXTS128, sectorSize: 512, size: 64 << 20, clearKey: true, seed: 5})
	var ra io.ReaderAt = bytes.NewReader(bv.img)
	if views {
		ra = &viewImage{Reader: bytes.NewReader(bv.img), img: bv.img, whole: true}
	}
	v, err := NewVolume(ra, int64(len(bv.img)))
	if err != nil {
		b.Fatal(err)
	}
	r, err := v.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		off := int64(i%60) << 20
		if _, err := r.ReadAt(buf, off); err != nil {
			b.Fatal(err)
		}
	}
	reportCPURate(b, cpu0, int64(b.N)*int64(len(buf)))
}
