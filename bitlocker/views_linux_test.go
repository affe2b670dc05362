//go:build linux

package bitlocker

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// mappedImage shows views of a file mapped into memory, as a VHDX chain
// does.
type mappedImage struct {
	*os.File
	m []byte
}

func (v *mappedImage) Views(off int64, n int) ([][]byte, bool) {
	if off < 0 || off+int64(n) > int64(len(v.m)) {
		return nil, false
	}
	return [][]byte{v.m[off : off+int64(n) : off+int64(n)]}, true
}

// TestViewsFault cuts the volume's file short under its mapping: reading
// the views past the new end faults (SIGBUS), which must become an error
// of the read through ReadAt, not a crash; the part still there reads
// right.
func TestViewsFault(t *testing.T) {
	bv := buildVolume(t, synthSpecs[0])
	path := filepath.Join(t.TempDir(), "vol")
	if err := os.WriteFile(path, bv.img, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), 0, len(bv.img), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	defer unix.Munmap(m)
	r := unlockOver(t, bv, &mappedImage{File: f, m: m})
	half := int64(len(bv.img) / 2)
	if err := os.Truncate(path, half); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	if _, err := r.ReadAt(buf, 0); err != nil {
		t.Fatalf("read before the cut: %v", err)
	}
	if i := firstDiff(buf, bv.want[:len(buf)]); i >= 0 {
		t.Fatalf("read before the cut differs at byte %d", i)
	}
	if _, err := r.ReadAt(buf, half); err == nil {
		t.Fatal("a read past the cut gave no error")
	}
	// populate sees the cut; the fault itself comes when the file is cut
	// between populate and the decryption.
	if populate(m[half : half+4096]) {
		t.Error("populate did not see the cut")
	}
	if r.decryptGuarded(buf[:4096], m[half:half+4096], half) {
		t.Error("decrypting a view past the cut did not fault")
	}
}
