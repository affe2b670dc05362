package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/ntfs"
	"github.com/ckptfs/ckptfs/vhdx"
)

// rawWriteChain builds disk.vhdx holding a bare NTFS volume with data.bin
// (made by mkntfs and ntfscp, no mount needed) and disk_raw.avhdx over it,
// where bytes of data.bin were overwritten in its clusters and its MFT
// record left alone, as a write below the file system does.
func rawWriteChain(t *testing.T) string {
	t.Helper()
	mkntfs := testutil.NeedTool(t, "mkntfs")
	ntfscp := testutil.NeedTool(t, "ntfscp")
	dir := t.TempDir()
	img, src := filepath.Join(t.TempDir(), "vol.img"), filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(src, bytes.Repeat([]byte("file data "), 3000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 8<<20); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, mkntfs, "-q", "-F", "-Q", "-s", "512", "-c", "4096", img)
	testutil.Run(t, ntfscp, "-q", img, src, "data.bin")
	base, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}

	v, err := ntfs.NewVolume(bytes.NewReader(base), int64(len(base)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := v.OpenFile("data.bin")
	if err != nil {
		t.Fatal(err)
	}
	exts, exact, err := f.Extents()
	if err != nil || !exact || len(exts) == 0 || exts[0].Sparse {
		t.Fatalf("data.bin extents %+v exact %v: %v", exts, exact, err)
	}
	raw := bytes.Clone(base)
	copy(raw[exts[0].VolOff+100:], "written below NTFS")

	base2 := filepath.Join(dir, "disk.vhdx")
	writeLayer(t, base2, nil, nil, base)
	parent, err := vhdx.OpenDisk(base2)
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	writeLayer(t, filepath.Join(dir, "disk_raw.avhdx"), parent, base, raw)
	return dir
}

// writeLayer writes into a new disk the 512-byte sectors where img
// differs from prev, the parent's content (nil: a base, all zeros).
func writeLayer(t *testing.T, path string, parent *vhdx.Disk, prev, img []byte) {
	t.Helper()
	opt := vhdx.CreateOptions{VirtualSize: int64(len(img)), BlockSize: 1 << 20}
	old := prev
	if parent == nil {
		old = make([]byte, len(img))
	} else {
		opt = vhdx.CreateOptions{Parent: parent, ParentPath: parent.Name}
	}
	w, err := vhdx.Create(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(img); off += 512 {
		if !bytes.Equal(img[off:off+512], old[off:off+512]) {
			if _, err := w.WriteAt(img[off:off+512], int64(off)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDiffThorough(t *testing.T) {
	dir := rawWriteChain(t)
	const line = "M Disk0-vol/data.bin (content)"

	out, errs, code := ckptfs(t, "diff", "--files", dir, "disk", "disk_raw")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.Contains(out, "data.bin") || !strings.Contains(out, "0 added, 0 removed, 0 modified, 0 renamed") {
		t.Errorf("without --thorough the raw write is not expected to show:\n%s", out)
	}

	out, errs, code = ckptfs(t, "diff", "--files", "--thorough", dir, "disk", "disk_raw")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, line) || !strings.Contains(out, "0 added, 0 removed, 1 modified, 0 renamed") || strings.Contains(out, "note:") {
		t.Errorf("--thorough output lacks %q or says more:\n%s", line, out)
	}

	out, errs, code = ckptfs(t, "diff", "--json", "--thorough", dir, "disk", "disk_raw")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res struct {
		Ranges []json.RawMessage `json:"ranges"`
		Files  []struct {
			Path   string   `json:"path"`
			Change string   `json:"change"`
			What   []string `json:"what"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(res.Ranges) != 1 || len(res.Files) != 1 || res.Files[0].Path != "Disk0-vol/data.bin" ||
		res.Files[0].Change != "modified" || strings.Join(res.Files[0].What, ",") != "content" {
		t.Errorf("--json --thorough: %s", out)
	}
}

func TestDiffExitCodeAndSizes(t *testing.T) {
	src := demoVM(t)
	if _, errs, code := ckptfs(t, "diff", "--exit-code", src, "Now", "Now"); code != exitOK {
		t.Errorf("a checkpoint against itself: exit %d (%s), want 0", code, errs)
	}
	out, errs, code := ckptfs(t, "diff", "--exit-code", "--json", "--files", src, "web01", "Now")
	if code != exitDiffers || errs != "" {
		t.Fatalf("changed checkpoints: exit %d, stderr %q; want %d and nothing on stderr", code, errs, exitDiffers)
	}
	var res struct {
		Files []struct {
			Path       string
			Change     string
			SizeBefore *int64 `json:"size_before"`
			SizeAfter  *int64 `json:"size_after"`
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Files) == 0 {
		t.Fatal("no file changes between web01 and Now")
	}
	for _, f := range res.Files {
		if (f.SizeBefore == nil) != (f.Change == "added") || (f.SizeAfter == nil) != (f.Change == "removed") {
			t.Errorf("%s %s: size_before %v size_after %v", f.Change, f.Path, f.SizeBefore, f.SizeAfter)
		}
	}
}
