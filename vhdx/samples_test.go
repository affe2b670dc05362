//go:build linux

package vhdx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestSampleVHDX reads the VHDX files made by Windows and compares them with
// qemu-img's conversion (which libvhdi agrees with, per SOURCES.md).
func TestSampleVHDX(t *testing.T) {
	for _, name := range []string{"dynamic.vhdx.gz", "fixed.vhdx.gz"} {
		t.Run(name, func(t *testing.T) {
			p := testutil.UnpackSample(t, name)
			before := fileSHA(t, p)
			c, err := OpenChain(p, ChainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.Size() != 10<<20 {
				t.Errorf("size %d, want 10 MiB", c.Size())
			}
			mustEqualBytes(t, name, readAll(t, c), qemuToRaw(t, p, "vhdx"))
			if fileSHA(t, p) != before {
				t.Fatal("the sample changed")
			}
		})
	}
}

// TestDirtyLogSample opens the VHDX whose log was never replayed. The right
// content is what qemu gives after repairing a copy; the original must stay
// byte-identical.
func TestDirtyLogSample(t *testing.T) {
	p := testutil.UnpackSample(t, "iotest-dirtylog-10G-4M.vhdx.bz2")
	before := fileSHA(t, p)
	d, err := OpenDisk(p)
	if err != nil {
		t.Fatal(err)
	}
	if !d.LogReplayed || d.LogEntries == 0 {
		t.Fatalf("log not replayed: %+v", d)
	}
	c, err := NewChain([]*Disk{d}, ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fixed := filepath.Join(t.TempDir(), "fixed.vhdx")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fixed, b, 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "qemu-img", "check", "-r", "all", fixed)
	raw := filepath.Join(t.TempDir(), "fixed.raw")
	testutil.Run(t, "qemu-img", "convert", "-f", "vhdx", "-O", "raw", fixed, raw)
	compareSparse(t, c, raw)
	d.Close()
	if fileSHA(t, p) != before {
		t.Fatal("the sample changed on disk")
	}
}

// compareSparse compares an image with a sparse raw file without reading
// the zeros of either: every range that is data on one side or the other
// is read from both.
func compareSparse(t *testing.T, img Image, rawPath string) {
	t.Helper()
	f, err := os.Open(rawPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	if st.Size() != img.Size() {
		t.Fatalf("raw is %d bytes, image %d", st.Size(), img.Size())
	}
	var ranges [][2]int64
	ex, err := img.Extents(0, img.Size())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ex {
		if e.Kind == ExtentData {
			ranges = append(ranges, [2]int64{e.Off, e.End()})
		}
	}
	const seekData, seekHole = 3, 4
	for off := int64(0); off < st.Size(); {
		d, err := syscall.Seek(int(f.Fd()), off, seekData)
		if errors.Is(err, syscall.ENXIO) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		h, err := syscall.Seek(int(f.Fd()), d, seekHole)
		if err != nil {
			t.Fatal(err)
		}
		ranges = append(ranges, [2]int64{d, h})
		off = h
	}
	for _, r := range ranges {
		for off := r[0]; off < r[1]; off += 4 << 20 {
			n := min(r[1]-off, 4<<20)
			a, b := make([]byte, n), make([]byte, n)
			if _, err := img.ReadAt(a, off); err != nil {
				t.Fatal(err)
			}
			if _, err := f.ReadAt(b, off); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Fatalf("content differs in [%d, %d) near byte %d", off, off+n, off+int64(firstMismatch(a, b)))
			}
		}
	}
}
