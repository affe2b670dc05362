package catalog

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

// Test disks are made with qemu-img, an independent tool. qemu cannot
// create VHDX differencing disks, so makeChild creates a dynamic VHDX of
// the parent's size with qemu-img and turns it into a differencing disk the
// way [MS-VHDX] 2.6 describes: HasParent set in the file parameters and a
// parent locator item added to the metadata table. Neither is covered by a
// checksum; the BAT (all NOT_PRESENT) stays as qemu wrote it, which is
// what a fresh differencing disk holds.

const (
	mdFileParams = "caa16737-fa36-4d43-b3b6-33f0aa44e76b"
	mdLocator    = "a8d35f2d-b30b-454d-abf7-d3d84834ab0c"
	rgMetadata   = "8b7ca206-4790-4b9a-b8fe-575f050f886e"
	locatorVHDX  = "b04aefb7-d19e-4a81-b789-25b8e9445913"
)

// makeBase creates a dynamic VHDX of size bytes with qemu-img.
func makeBase(t *testing.T, path string, size int64) {
	t.Helper()
	testutil.NeedTool(t, "qemu-img")
	testutil.Run(t, "qemu-img", "create", "-q", "-f", "vhdx", path, strconv.FormatInt(size, 10))
}

// makeChild creates child as a differencing disk of parent. rel is the
// relative_path written in its locator ("" for the parent's file name,
// Hyper-V style ".\name"), abs the absolute_win32_path ("" to leave out).
// linkage overrides the parent's DataWriteGuid when non-zero.
func makeChild(t *testing.T, parent, child, rel, abs string, linkage vhdx.GUID) {
	t.Helper()
	pb, err := os.ReadFile(parent)
	if err != nil {
		t.Fatal(err)
	}
	if linkage.IsZero() {
		copy(linkage[:], pb[currentHeader(t, pb)+32:][:16])
	}
	makeBase(t, child, virtualSize(t, pb))
	cb, err := os.ReadFile(child)
	if err != nil {
		t.Fatal(err)
	}
	if rel == "" {
		rel = `.\` + filepath.Base(parent)
	}
	kv := [][2]string{{"parent_linkage", "{" + linkage.String() + "}"}, {"relative_path", rel}}
	if abs != "" {
		kv = append(kv, [2]string{"absolute_win32_path", abs})
	}
	addLocator(t, cb, kv)
	if err := os.WriteFile(child, cb, 0o644); err != nil {
		t.Fatal(err)
	}
}

// currentHeader returns the offset of the header with the higher sequence.
func currentHeader(t *testing.T, b []byte) int {
	h1, h2 := 64<<10, 128<<10
	if binary.LittleEndian.Uint64(b[h2+8:]) > binary.LittleEndian.Uint64(b[h1+8:]) {
		return h2
	}
	return h1
}

func metadataRegion(t *testing.T, b []byte) (off, length int) {
	t.Helper()
	rt := 192 << 10
	n := int(binary.LittleEndian.Uint32(b[rt+8:]))
	for i := 0; i < n; i++ {
		e := b[rt+16+32*i:]
		var g vhdx.GUID
		copy(g[:], e)
		if g.String() == rgMetadata {
			return int(binary.LittleEndian.Uint64(e[16:])), int(binary.LittleEndian.Uint32(e[24:]))
		}
	}
	t.Fatal("no metadata region")
	return 0, 0
}

func metadataItem(b []byte, md int, id string) (entry, off, length int) {
	n := int(binary.LittleEndian.Uint16(b[md+10:]))
	for i := 0; i < n; i++ {
		e := md + 32 + 32*i
		var g vhdx.GUID
		copy(g[:], b[e:])
		if g.String() == id {
			return e, int(binary.LittleEndian.Uint32(b[e+16:])), int(binary.LittleEndian.Uint32(b[e+20:]))
		}
	}
	return -1, 0, 0
}

func virtualSize(t *testing.T, b []byte) int64 {
	md, _ := metadataRegion(t, b)
	_, off, _ := metadataItem(b, md, "2fa54224-cd1b-4876-b211-5dbed83bf4b8")
	return int64(binary.LittleEndian.Uint64(b[md+off:]))
}

func addLocator(t *testing.T, b []byte, kv [][2]string) {
	t.Helper()
	md, mdLen := metadataRegion(t, b)
	_, fpOff, _ := metadataItem(b, md, mdFileParams)
	flags := binary.LittleEndian.Uint32(b[md+fpOff+4:])
	binary.LittleEndian.PutUint32(b[md+fpOff+4:], flags|2) // HasParent
	// Build the locator: header, entries, then UTF-16LE strings.
	loc := make([]byte, 20+12*len(kv))
	g, _ := vhdx.ParseGUID(locatorVHDX)
	copy(loc, g[:])
	binary.LittleEndian.PutUint16(loc[18:], uint16(len(kv)))
	for i, p := range kv {
		k, v := utf16le(p[0]), utf16le(p[1])
		e := loc[20+12*i:]
		binary.LittleEndian.PutUint32(e[0:], uint32(len(loc)))
		binary.LittleEndian.PutUint32(e[4:], uint32(len(loc)+len(k)))
		binary.LittleEndian.PutUint16(e[8:], uint16(len(k)))
		binary.LittleEndian.PutUint16(e[10:], uint16(len(v)))
		loc = append(append(loc, k...), v...)
	}
	// Place it after the last item, in the metadata region.
	n := int(binary.LittleEndian.Uint16(b[md+10:]))
	end := 64 << 10
	for i := 0; i < n; i++ {
		e := md + 32 + 32*i
		if x := int(binary.LittleEndian.Uint32(b[e+16:]) + binary.LittleEndian.Uint32(b[e+20:])); x > end {
			end = x
		}
	}
	end = (end + 7) &^ 7
	if end+len(loc) > mdLen {
		t.Fatal("no room for the parent locator")
	}
	copy(b[md+end:], loc)
	e := md + 32 + 32*n
	gl, _ := vhdx.ParseGUID(mdLocator)
	copy(b[e:], gl[:])
	binary.LittleEndian.PutUint32(b[e+16:], uint32(end))
	binary.LittleEndian.PutUint32(b[e+20:], uint32(len(loc)))
	binary.LittleEndian.PutUint32(b[e+24:], 4) // IsRequired
	binary.LittleEndian.PutUint16(b[md+10:], uint16(n+1))
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func TestMakeChildIsReadByLibvhdi(t *testing.T) {
	testutil.NeedTool(t, "vhdiinfo")
	dir := t.TempDir()
	base := filepath.Join(dir, "web.vhdx")
	makeBase(t, base, 8<<20)
	child := filepath.Join(dir, "web_6E7D2F6B-0B33-4C43-9B7A-3C2D9B1A0F11.avhdx")
	makeChild(t, base, child, "", `C:\VMs\web.vhdx`, vhdx.GUID{})
	out := string(testutil.Run(t, "vhdiinfo", child))
	if !strings.Contains(out, "Differential") || !strings.Contains(out, `C:\VMs\web.vhdx`) {
		t.Errorf("libvhdi does not see a differencing disk:\n%s", out)
	}
}
