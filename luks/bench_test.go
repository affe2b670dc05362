package luks

import (
	"bytes"
	"testing"
)

// BenchmarkRead decrypts 1 MiB reads (the mount's largest) of a
// hand-made AES-XTS-256 volume; the figure is MB/s of decrypted bytes.
func BenchmarkRead(b *testing.B) {
	img := buildLUKS1("bench", make([]byte, 8<<20), 3)
	v, err := NewVolume(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		b.Fatal(err)
	}
	r, err := v.Unlock([]byte("bench"))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for i := range b.N {
		if _, err := r.ReadAt(buf, int64(i%8)<<20); err != nil {
			b.Fatal(err)
		}
	}
}
