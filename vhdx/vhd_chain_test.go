package vhdx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestVHDChainOpen builds a three-file VHD chain on a qemu-made base (with
// different block sizes per layer) and reads it through OpenChain; the
// result must match both the expected bytes and the blockMap-only reader.
func TestVHDChainOpen(t *testing.T) {
	testutil.NeedTool(t, "qemu-img")
	testutil.NeedTool(t, "qemu-io")
	dir := t.TempDir()
	base := filepath.Join(dir, "base.vhd")
	testutil.Run(t, "qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=dynamic", base, "8M")
	testutil.Run(t, "qemu-io", "-f", "vpc", "-c", "write -P 0x11 0 6M", base)
	want := qemuRaw(t, base)
	size := int64(len(want))

	bd, err := OpenDisk(base)
	if err != nil {
		t.Fatal(err)
	}
	defer bd.Close()
	pat := func(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n) }
	midWrites := []vhdWrite{{512, pat(0x22, 1024)}, {3<<20 + 4096, pat(0x22, 8192)}, {7 << 20, pat(0x22, 4096)}}
	mid, err := buildVHD(vhdCreateOptions{Type: TypeDifferencing, Size: size, BlockSize: 512 << 10,
		Parent: &vhdParentSpec{ID: bd.DataWriteGUID, Name: "base.vhd", RelativePath: `.\base.vhd`, AbsolutePath: `D:\gone\base.vhd`},
		Writes: midWrites})
	if err != nil {
		t.Fatal(err)
	}
	md, err := vhdOpenBytes(mid)
	if err != nil {
		t.Fatal(err)
	}
	topWrites := []vhdWrite{{1024, pat(0x33, 512)}, {3<<20 + 8192, pat(0x33, 512)}, {5 << 20, pat(0x33, 1<<20)}}
	top, err := buildVHD(vhdCreateOptions{Type: TypeDifferencing, Size: size, BlockSize: 2 << 20,
		// Only the absolute path: the chain must fall back to its file name.
		Parent: &vhdParentSpec{ID: md.DataWriteGUID, Name: "mid.vhd", AbsolutePath: `C:\VMs\mid.vhd`},
		Writes: topWrites})
	if err != nil {
		t.Fatal(err)
	}
	for name, img := range map[string][]byte{"mid.vhd": mid, "top.vhd": top} {
		if err := os.WriteFile(filepath.Join(dir, name), img, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range append(midWrites, topWrites...) {
		copy(want[w.Off:], w.Data)
	}

	c, err := OpenChain(filepath.Join(dir, "top.vhd"), ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(c.Layers) != 3 || c.Size() != size {
		t.Fatalf("%d layers, size %d", len(c.Layers), c.Size())
	}
	got := make([]byte, size)
	if _, err := c.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("chain content: %s", firstDiff(got, want))
	}
	viaMap, err := vhdReadLayers(c.Layers...)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(viaMap, want) {
		t.Errorf("blockMap reader: %s", firstDiff(viaMap, want))
	}

	// A parent with another identity must be refused.
	other, err := buildVHD(vhdCreateOptions{Type: TypeDynamic, Size: size})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mid.vhd"), other, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenChain(filepath.Join(dir, "top.vhd"), ChainOptions{}); !errors.Is(err, ErrParent) {
		t.Errorf("mismatched parent: got %v, want ErrParent", err)
	}
}
