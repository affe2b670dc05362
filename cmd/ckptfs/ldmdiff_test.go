//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestDiffFilesDynamicDisks: testdata/ldm's VM at two checkpoints, the
// second with 4 KiB of big.bin rewritten where the spanned NTFS volume
// Volume2 lies on its second disk (under the filesystem: no time or size
// changes). The volume is listed after its first disk, which did not
// change: diff --files still compares it and finds big.bin's content
// changed, and nothing else; cat reads in the new state what ntfscat
// (ntfs-3g's tools) reads from the volume's image changed alike.
func TestDiffFilesDynamicDisks(t *testing.T) {
	testutil.NeedTool(t, "ntfscat")
	dir := testutil.LDMDisks(t)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	big, err := exec.Command("ntfscat", filepath.Join(dir, "Volume2.img"), "big.bin").Output()
	if err != nil || len(big) < 1<<20 {
		t.Fatalf("ntfscat Volume2.img big.bin: %d bytes, %v", len(big), err)
	}
	// A 4 KiB of big.bin past the volume's first 6 MiB (its extent on
	// disk1, testdata/ldm/layout.json): on disk2, the file crossing the
	// seam.
	disk2, vol2 := read("disk2.img"), read("Volume2.img")
	blocks := map[string]int{}
	for off := 6 << 20; off+4096 <= len(vol2); off += 4096 {
		blocks[string(vol2[off:off+4096])] = off
	}
	atVol := -1
	var chunk []byte
	for off := 0; off+4096 <= len(big) && atVol < 0; off += 4096 {
		if at, ok := blocks[string(big[off:off+4096])]; ok {
			atVol, chunk = at, big[off:off+4096]
		}
	}
	if atVol < 0 {
		t.Fatal("no 4 KiB of big.bin past Volume2's first 6 MiB")
	}
	atDisk := bytes.Index(disk2, chunk)
	if atDisk < 0 || bytes.Count(disk2, chunk) != 1 {
		t.Fatalf("big.bin's chunk: at %d of disk2, %d of Volume2", atDisk, atVol)
	}
	tmp := t.TempDir()
	changed := bytes.Repeat([]byte("changed under the filesystem\n"), 4096/29+1)[:4096]
	disk2b := append([]byte(nil), disk2...)
	copy(disk2b[atDisk:], changed)
	vol2b := append([]byte(nil), vol2...)
	copy(vol2b[atVol:], changed)
	for name, b := range map[string][]byte{"disk2b.img": disk2b, "Volume2b.img": vol2b} {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantBig, err := exec.Command("ntfscat", filepath.Join(tmp, "Volume2b.img"), "big.bin").Output()
	if err != nil || bytes.Equal(wantBig, big) {
		t.Fatalf("ntfscat of the changed image: %v", err)
	}

	// The chains (tools/mkchain) and the configurations.
	mk := filepath.Join(tmp, "mkchain")
	testutil.Run(t, "go", "build", "-o", mk, filepath.Join(testutil.RepoRoot(), "tools", "mkchain"))
	vm := filepath.Join(tmp, "vm")
	if err := os.MkdirAll(vm, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]string{}
	for _, d := range []string{"disk1", "disk2", "disk3"} {
		second := filepath.Join(dir, d+".img")
		if d == "disk2" {
			second = filepath.Join(tmp, "disk2b.img")
		}
		out := testutil.Run(t, mk, "-o", vm, "-name", d, "-seed", d, filepath.Join(dir, d+".img"), second)
		files[d] = strings.Fields(string(out))
	}
	cfgs, _ := filepath.Glob(filepath.Join(dir, "vm", "Virtual Machines", "*.xml"))
	if len(cfgs) != 1 {
		t.Fatalf("configurations %v", cfgs)
	}
	text := utf16Text(t, read(filepath.Join("vm", "Virtual Machines", filepath.Base(cfgs[0]))))
	const snap = "5E1D0A00-0000-4000-8000-0000000005A1"
	live := text
	for _, d := range []string{"disk1", "disk2", "disk3"} {
		live = strings.Replace(live, `\`+d+".vhdx<", `\`+filepath.Base(files[d][1])+"<", 1)
	}
	live = strings.Replace(live, "</name></properties>", "</name><parent_snapshot_id type=\"string\">"+snap+"</parent_snapshot_id></properties>", 1)
	id := strings.TrimSuffix(filepath.Base(cfgs[0]), ".xml")
	before := strings.Replace(text, "<global_id type=\"string\">"+id, "<global_id type=\"string\">"+snap, 1)
	before = strings.Replace(before, `<name type="string">srv</name>`, `<name type="string">before</name>`, 1)
	for rel, s := range map[string]string{"Virtual Machines/" + id + ".xml": live, "Snapshots/" + snap + ".xml": before} {
		p := filepath.Join(vm, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, utf16File(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	out, errs, code := ckptfs(t, "diff", "--files", "--json", vm, "before", "Now")
	var res struct {
		Files []struct {
			Path, Change string
			What         []string
		}
		Notes []string
	}
	if err := json.Unmarshal([]byte(out), &res); code != exitOK || err != nil {
		t.Fatalf("diff: exit %d, %v\n%s%s", code, err, out, errs)
	}
	if len(res.Files) != 1 || res.Files[0].Path != "Disk0-ldm-Volume2/big.bin" || res.Files[0].Change != "modified" || strings.Join(res.Files[0].What, ",") != "content" {
		t.Errorf("diff --files before Now: %+v\nnotes %q", res.Files, res.Notes)
	}
	// The LDM partitions hold no files of their own: no note of them.
	for _, n := range res.Notes {
		if strings.Contains(n, "not compared") {
			t.Errorf("note %q", n)
		}
	}
	if got, errs, code := ckptfs(t, "cat", vm, "Now", "Disk0-ldm-Volume2/big.bin"); code != exitOK || sha256Hex(got) != sha256Hex(string(wantBig)) {
		t.Errorf("cat big.bin in Now: exit %d, sha256 %s, ntfscat reads %s %s", code, sha256Hex(got), sha256Hex(string(wantBig)), errs)
	}
}

// utf16Text decodes a configuration file: UTF-16LE after a BOM.
func utf16Text(t *testing.T, b []byte) string {
	t.Helper()
	b = bytes.TrimPrefix(b, []byte{0xff, 0xfe})
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}

// utf16File encodes s as a configuration file: a BOM, then UTF-16LE.
func utf16File(s string) []byte {
	out := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}
