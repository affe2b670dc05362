package ntfs

import (
	"io"
	"testing"

	"github.com/ckptfs/ckptfs/internal/wimtest"
)

// BenchmarkWOFRead reads the largest file of the WOF test volume (1 MiB of
// text, runs, random bytes and x86-like code) in 1 MiB reads, as the mount
// gets them, in each format: chunk table, compressed reads and decoding on
// the cores there are; bytes/s count output bytes.
func BenchmarkWOFRead(b *testing.B) {
	img, _ := wimtest.WOFVolume(b)
	v, err := Open(img)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	for _, f := range wofFormats {
		b.Run(f.Dir, func(b *testing.B) {
			fl, err := v.OpenFile(f.Dir + "/mixed-1m.bin")
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 1<<20)
			b.SetBytes(fl.Size())
			b.ResetTimer()
			for range b.N {
				for off := int64(0); off < fl.Size(); off += int64(len(buf)) {
					if _, err := fl.ReadAt(buf, off); err != nil && err != io.EOF {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
