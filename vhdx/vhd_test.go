package vhdx

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestVHDSamples reads the real images made by Windows, Hyper-V and Virtual
// PC and checks them against libvhdi (fields) and qemu (content, layout).
func TestVHDSamples(t *testing.T) {
	for _, tc := range []struct {
		file string
		typ  DiskType
	}{
		{"dynamic.vhd.gz", TypeDynamic},
		{"fixed.vhd.gz", TypeFixed},
		{"hyperv2012r2-dynamic.vhd.bz2", TypeDynamic},
		// Virtual PC: qemu would take the (smaller) CHS size; libvhdi and
		// this package take the footer's current size.
		{"virtualpc-dynamic.vhd.bz2", TypeDynamic},
	} {
		t.Run(tc.file, func(t *testing.T) {
			name := vhdSample(t, tc.file)
			d, err := OpenDisk(name)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if d.Format != FormatVHD || d.Type != tc.typ || d.Header != "footer at end" || len(d.Warnings) != 0 {
				t.Errorf("got format %v type %v header %q warnings %q", d.Format, d.Type, d.Header, d.Warnings)
			}
			if d.Created.Year() < 2005 || d.Created.Year() > 2030 || d.DiskID != d.DataWriteGUID || d.DiskID.IsZero() {
				t.Errorf("created %v, id %v, data write %v", d.Created, d.DiskID, d.DataWriteGUID)
			}
			checkVHDAgainstLibvhdi(t, name, d)
			checkVHDAgainstQemuMap(t, name, d)
			checkVHDSizeQuirk(t, name, d)
			if d.VirtualSize <= 64<<20 {
				got, err := vhdReadLayers(d)
				if err != nil {
					t.Fatal(err)
				}
				if want := qemuRaw(t, name); !bytes.Equal(got, want) {
					t.Errorf("content differs from qemu-img convert: %s", firstDiff(got, want))
				}
			}
		})
	}
}

// checkVHDAgainstLibvhdi compares the parsed fields with vhdiinfo's.
func checkVHDAgainstLibvhdi(t *testing.T, name string, d *Disk) {
	t.Helper()
	info := vhdiInfo(t, name)
	if want := "(" + strconv.FormatInt(d.VirtualSize, 10) + " bytes)"; !strings.HasSuffix(info["Media size"], want) {
		t.Errorf("vhdiinfo media size %q, we have %d", info["Media size"], d.VirtualSize)
	}
	if got := strings.ToLower(info["Disk type"]); strings.Replace(got, "differential", "differencing", 1) != d.Type.String() {
		t.Errorf("vhdiinfo disk type %q, we have %v", got, d.Type)
	}
	if got := info["Identifier"]; got != rawUUID(d.DiskID) {
		t.Errorf("vhdiinfo identifier %q, we have %s", got, rawUUID(d.DiskID))
	}
	if d.Type == TypeDifferencing {
		if got := info["Parent identifier"]; got != rawUUID(d.Parent.Linkage) {
			t.Errorf("vhdiinfo parent identifier %q, we have %s", got, rawUUID(d.Parent.Linkage))
		}
		if got := info["Parent filename"]; got != d.Parent.ParentName {
			t.Errorf("vhdiinfo parent filename %q, we have %q", got, d.Parent.ParentName)
		}
	}
}

// checkVHDSizeQuirk checks our understanding of qemu's size rule: for
// creators other than Windows and a few others, qemu reports the CHS size,
// where this package and libvhdi report the footer's current size.
func checkVHDSizeQuirk(t *testing.T, name string, d *Disk) {
	t.Helper()
	testutil.NeedTool(t, "qemu-img")
	b := make([]byte, vhdFooterSize)
	if _, err := d.ReadFileAt(b, d.FileSize-vhdFooterSize); err != nil {
		t.Fatal(err)
	}
	f, _ := decodeVHDFooter(b)
	want := d.VirtualSize
	if string(f.CreatorApp[:]) == "vpc " {
		want = f.chsSize()
	}
	var info struct {
		VirtualSize int64 `json:"virtual-size"`
	}
	out := testutil.Run(t, "qemu-img", "info", "--output=json", "-f", "vpc", name)
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	if info.VirtualSize != want {
		t.Errorf("qemu virtual size %d, expected %d (ours %d, CHS %d)", info.VirtualSize, want, d.VirtualSize, f.chsSize())
	}
}

// qemuMapEntry is one element of `qemu-img map --output=json`.
type qemuMapEntry struct {
	Start, Length, Offset int64
	Data                  bool
}

// checkVHDAgainstQemuMap checks that the blocks qemu sees allocated, and
// their file offsets, are the ones this package reports. qemu ignores the
// sector bitmap of dynamic disks, so the comparison is per block.
func checkVHDAgainstQemuMap(t *testing.T, name string, d *Disk) {
	t.Helper()
	testutil.NeedTool(t, "qemu-img")
	var entries []qemuMapEntry
	out := testutil.Run(t, "qemu-img", "map", "--output=json", "-f", "vpc", name)
	if err := json.Unmarshal(out, &entries); err != nil {
		t.Fatalf("qemu-img map: %v\n%s", err, out)
	}
	qemuData := map[int64]int64{} // block -> file offset
	for _, e := range entries {
		if !e.Data {
			continue
		}
		for b := e.Start / d.BlockSize; b*d.BlockSize < e.Start+e.Length; b++ {
			qemuData[b] = e.Offset - e.Start + b*d.BlockSize
		}
	}
	for i := range d.Blocks() {
		st, off := d.BlockInfo(i)
		want, ok := qemuData[i]
		switch {
		case st == BlockAbsent && ok:
			t.Errorf("block %d: absent, qemu has data at 0x%x", i, want)
		case st == BlockPresent && !ok:
			// A fixed disk is all present; qemu reports holes of the
			// (sparse) file as zero.
		case st != BlockAbsent && (!ok || off != want):
			t.Errorf("block %d: %v at 0x%x, qemu says data=%v at 0x%x", i, st, off, ok, want)
		}
	}
}

// TestVHDQemuCreated reads images qemu made and wrote to.
func TestVHDQemuCreated(t *testing.T) {
	testutil.NeedTool(t, "qemu-img")
	testutil.NeedTool(t, "qemu-io")
	for _, sub := range []string{"dynamic", "fixed"} {
		for _, size := range []string{"8M", "5M"} {
			t.Run(sub+"-"+size, func(t *testing.T) {
				name := filepath.Join(t.TempDir(), "q.vhd")
				testutil.Run(t, "qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat="+sub, name, size)
				testutil.Run(t, "qemu-io", "-f", "vpc", "-c", "write -P 0x5a 1M 3M", "-c", "write -P 0xa5 4096 512", name)
				d, err := OpenDisk(name)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				got, err := vhdReadLayers(d)
				if err != nil {
					t.Fatal(err)
				}
				want := qemuRaw(t, name)
				if !bytes.Equal(got, want) {
					t.Fatalf("content differs from qemu-img convert: %s", firstDiff(got, want))
				}
				if got[1<<20] != 0x5a || got[4<<20-1] != 0x5a || got[4096] != 0xa5 || got[0] != 0 {
					t.Errorf("pattern not where qemu-io wrote it")
				}
				checkVHDAgainstLibvhdi(t, name, d)
				checkVHDAgainstQemuMap(t, name, d)
				checkVHDSizeQuirk(t, name, d)
			})
		}
	}
}

// TestVHDDifferencingChain builds a base and a differencing child with
// buildVHD and reads the chain; libvhdi checks the child's parent fields.
func TestVHDDifferencingChain(t *testing.T) {
	const size = 3<<20 + 64<<10 // not a whole number of blocks
	pat := func(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n) }
	baseID := NewGUID()
	base, err := buildVHD(vhdCreateOptions{
		Type: TypeDynamic, Size: size, BlockSize: 1 << 20, UniqueID: baseID,
		Writes: []vhdWrite{{0, pat(1, 8192)}, {1<<20 - 512, pat(2, 1024)}, {3 << 20, pat(3, 64<<10)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	parent := &vhdParentSpec{ID: baseID, Name: "bäse.vhd", RelativePath: `.\bäse.vhd`, AbsolutePath: `C:\VMs\bäse.vhd`}
	child, err := buildVHD(vhdCreateOptions{
		Type: TypeDifferencing, Size: size, BlockSize: 1 << 20, Parent: parent,
		Writes: []vhdWrite{{4096, pat(9, 512)}, {2 << 20, pat(8, 4096)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, size)
	copy(want[0:], pat(1, 8192))
	copy(want[1<<20-512:], pat(2, 1024))
	copy(want[3<<20:], pat(3, 64<<10))
	copy(want[4096:], pat(9, 512))
	copy(want[2<<20:], pat(8, 4096))

	bd, err := vhdOpenBytes(base)
	if err != nil {
		t.Fatal(err)
	}
	cd, err := vhdOpenBytes(child)
	if err != nil {
		t.Fatal(err)
	}
	if cd.Type != TypeDifferencing || cd.Parent == nil || cd.Parent.Linkage != bd.DataWriteGUID {
		t.Fatalf("child type %v parent %+v, base id %v", cd.Type, cd.Parent, bd.DataWriteGUID)
	}
	p := cd.Parent
	if p.ParentName != parent.Name || p.RelativePath != parent.RelativePath || p.AbsolutePath != parent.AbsolutePath ||
		p.Entries["W2ru"] != parent.RelativePath || p.Entries["W2ku"] != parent.AbsolutePath {
		t.Errorf("parent locator %+v", p)
	}
	if st, _ := cd.BlockInfo(1); st != BlockAbsent {
		t.Errorf("child block 1 is %v, want absent", st)
	}
	got, err := vhdReadLayers(cd, bd)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("chain content: %s", firstDiff(got, want))
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bäse.vhd"), base, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := createVHD(filepath.Join(dir, "child.vhd"), vhdCreateOptions{
		Type: TypeDifferencing, Size: size, BlockSize: 1 << 20, Parent: parent, UniqueID: cd.DiskID,
		Created: cd.Created, Writes: []vhdWrite{{4096, pat(9, 512)}, {2 << 20, pat(8, 4096)}},
	}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "child.vhd")); err != nil || !bytes.Equal(b, child) {
		t.Errorf("createVHD wrote other bytes than buildVHD returned (%v)", err)
	}
	checkVHDAgainstLibvhdi(t, filepath.Join(dir, "bäse.vhd"), bd)
	checkVHDAgainstLibvhdi(t, filepath.Join(dir, "child.vhd"), cd)
	// The base alone, through qemu, must match what this package reads.
	if gotBase, err := vhdReadLayers(bd); err != nil {
		t.Fatal(err)
	} else if q := qemuRaw(t, filepath.Join(dir, "bäse.vhd")); !bytes.Equal(gotBase, q) {
		t.Errorf("base differs from qemu-img convert: %s", firstDiff(gotBase, q))
	}
}

// TestVHDFixedCreated reads a fixed image built by buildVHD whose size is
// not a whole number of 2 MiB blocks.
func TestVHDFixedCreated(t *testing.T) {
	const size = 2<<20 + 1536
	img, err := buildVHD(vhdCreateOptions{Type: TypeFixed, Size: size, Writes: []vhdWrite{{size - 512, bytes.Repeat([]byte{7}, 512)}}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := vhdOpenBytes(img)
	if err != nil {
		t.Fatal(err)
	}
	if d.Type != TypeFixed || d.VirtualSize != size || d.Blocks() != 2 {
		t.Fatalf("type %v size %d blocks %d", d.Type, d.VirtualSize, d.Blocks())
	}
	got, err := vhdReadLayers(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, img[:size]) {
		t.Errorf("fixed content: %s", firstDiff(got, img[:size]))
	}
}

// A VHD whose only footer fails its checksum (dfvfs's test images are
// such files) is refused, and read with IgnoreChecksums, the fault kept
// as a warning.
func TestVHDIgnoreChecksums(t *testing.T) {
	_, _, img := vhdTestImages(t)
	img[len(img)-512+vhdFooterCsOff] ^= 0xff
	if _, err := NewDisk(bytes.NewReader(img), int64(len(img))); !errors.Is(err, ErrChecksum) {
		t.Fatalf("strict open: %v, want ErrChecksum", err)
	}
	d, err := NewDiskOptions(bytes.NewReader(img), int64(len(img)), DiskOptions{IgnoreChecksums: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Warnings) == 0 || !strings.Contains(d.Warnings[0], "checksums ignored") {
		t.Errorf("warnings %q", d.Warnings)
	}
	if d.VirtualSize != int64(len(img)-512) {
		t.Errorf("virtual size %d", d.VirtualSize)
	}
}
