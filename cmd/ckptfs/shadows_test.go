//go:build linux

package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vss"
)

// shadowSource puts a sample disk, wrapped as a VHDX, alone in a folder
// (a source of one disk: checkpoints "Disk0" and "Now"). It returns the
// folder and the raw disk.
func shadowSource(t *testing.T, archive, member string) (src, raw string) {
	t.Helper()
	vhdx := testutil.UntarSample(t, archive, member, true)
	src = t.TempDir()
	if err := os.Rename(vhdx, filepath.Join(src, "Disk0.vhdx")); err != nil {
		t.Fatal(err)
	}
	return src, filepath.Join(filepath.Dir(vhdx), member)
}

const (
	w10Old = "shadows/Disk0-p2@2021-03-13T22.13.17"
	w10New = "shadows/Disk0-p2@2021-03-13T22.13.30"
)

// TestShadowsCommands goes through ls, cat, cp and diff on the Windows 10
// sample, whose partition 2 keeps two copies (their data on partition 1)
// of a file its author filled with '1', then '2', then '3'.
func TestShadowsCommands(t *testing.T) {
	src, _ := shadowSource(t, "windows/vss_3_volstor.tar.gz", "vss_3_volstor.raw")

	out, errOut, code := ckptfs(t, "ls", "--json", src)
	if code != 0 {
		t.Fatalf("ls --json: %d %s", code, errOut)
	}
	var ls lsJSON
	if err := json.Unmarshal([]byte(out), &ls); err != nil {
		t.Fatal(err)
	}
	var now *lsCheckpoint
	for i, c := range ls.VMs[0].Checkpoints {
		if c.Live {
			now = &ls.VMs[0].Checkpoints[i]
		}
	}
	want := []lsShadow{ // as vshadowinfo lists them
		{Volume: "Disk0-p2", Dir: w10Old, ID: "9b2ae2cc-8461-11eb-90f8-080027768df7", Created: "2021-03-13T22:13:17.304309Z"},
		{Volume: "Disk0-p2", Dir: w10New, ID: "9b2ae2cf-8461-11eb-90f8-080027768df7", Created: "2021-03-13T22:13:30.5867369Z"},
	}
	if now == nil || fmt.Sprint(now.Shadows) != fmt.Sprint(want) {
		t.Fatalf("ls --json shadows of Now: %+v, want %+v", now, want)
	}
	if out, _, _ := ckptfs(t, "ls", src); !strings.Contains(out, w10Old+"  store 9b2ae2cc-8461-11eb-90f8-080027768df7") {
		t.Errorf("ls does not list the copies:\n%s", out)
	}

	for p, digit := range map[string]string{w10Old + "/test.txt": "1", w10New + "/test.txt": "2", "Disk0-p2/test.txt": "3"} {
		out, errOut, code := ckptfs(t, "cat", src, "Now", p)
		if code != 0 || len(out) != 52272 || strings.Trim(out, digit) != "" {
			t.Errorf("cat %s: exit %d %s, %d bytes, not all %q", p, code, errOut, len(out), digit)
		}
	}
	dest := t.TempDir()
	if _, errOut, code := ckptfs(t, "cp", src, "Now", w10Old+"/test.txt", dest); code != 0 {
		t.Fatalf("cp: %d %s", code, errOut)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "test.txt")); err != nil || strings.Trim(string(b), "1") != "" {
		t.Errorf("cp from a shadow copy: %v", err)
	}

	for _, pair := range [][2]string{{"Now:" + w10Old, "Now:Disk0-p2"}, {"Now:" + w10Old, "Now:" + w10New}} {
		out, errOut, code := ckptfs(t, "diff", "--json", src, pair[0], pair[1])
		if code != 0 {
			t.Fatalf("diff %v: %d %s", pair, code, errOut)
		}
		var res struct {
			Ranges []struct{ Disk string }
			Files  []struct {
				Path, Change string
				What         []string
			}
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Ranges) == 0 || res.Ranges[0].Disk != "Disk0-p2" || len(res.Files) != 1 ||
			res.Files[0].Path != "Disk0-p2/test.txt" || res.Files[0].Change != "modified" || res.Files[0].What[0] != "content" {
			t.Errorf("diff %v: %s", pair, out)
		}
	}
	if _, _, code := ckptfs(t, "diff", src, "Now:"+w10Old, "Now"); code != exitUsage {
		t.Errorf("diff of a volume with a checkpoint: exit %d, want %d", code, exitUsage)
	}
	if _, errOut, code := ckptfs(t, "diff", src, "Now:Disk0-p1", "Now:Disk0-p2"); code == 0 || !strings.Contains(errOut, "shadow") {
		t.Errorf("diff of two live volumes: exit %d %s", code, errOut)
	}
}

// TestShadowsMount mounts the Windows Server 2003 sample (six copies)
// with the real binary: each volumes/<copy>.raw equals libvshadow's
// vshadowmount volume, and shadows/<copy>/ holds the files ntfs-3g reads
// from that volume.
func TestShadowsMount(t *testing.T) {
	testutil.NeedFUSE(t)
	for _, tool := range []string{"vshadowmount", "ntfs-3g"} {
		testutil.NeedTool(t, tool)
	}
	src, raw := shadowSource(t, "windows/vss_2003.tgz", "vss_2003.raw")
	const start, sectors = 63 * 512, 268430022
	mnt := startMount(t, nil, src).Dir
	theirs := t.TempDir()
	testutil.Run(t, "vshadowmount", "-o", fmt.Sprint(start), raw, theirs)
	defer fuseUnmount(t, theirs)
	// vshadowmount returns before its file system answers.
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(filepath.Join(theirs, "vss6")); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	f, err := os.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	live := io.NewSectionReader(f, start, sectors*512)
	v, err := vss.NewVolume(live, live.Size())
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(mnt, "checkpoints", "Now")
	names, err := os.ReadDir(filepath.Join(cp, "shadows"))
	if err != nil || len(names) != 6 {
		t.Fatalf("shadows/: %d entries (%v)", len(names), err)
	}
	// Compare where anything but zeros can be: the image's data and the
	// stores' blocks.
	ranges := imageData(t, f, start, start+sectors*512)
	for i, s := range v.Stores() {
		name := "Disk0-p1@" + s.Created.Format("2006-01-02T15.04.05")
		if names[i].Name() != name {
			t.Fatalf("shadows/%s, want %s", names[i].Name(), name)
		}
		r, err := s.Open()
		if err != nil {
			t.Fatal(err)
		}
		// All six against the stores' blocks; the oldest and the newest
		// against the whole image's data and ntfs-3g's files too (the
		// vss package checks every copy whole, without FUSE).
		full := i == 0 || i == len(v.Stores())-1
		var rs [][2]int64
		if full {
			rs = ranges
		}
		for _, e := range r.Extents(0, r.Size()) {
			if e.Source == vss.Copied {
				rs = append(rs, [2]int64{e.Off, e.Off + e.Len})
			}
		}
		ours := filepath.Join(cp, "volumes", name+".raw")
		ref := filepath.Join(theirs, fmt.Sprintf("vss%d", s.Index))
		if a, b := hashRanges(t, ours, rs), hashRanges(t, ref, rs); a != b {
			t.Errorf("%s: differs from vshadowmount's vss%d", ours, s.Index)
		}
		if full {
			compareTreeWithNTFS3G(t, filepath.Join(cp, "shadows", name), ref)
		}
	}
	var js struct {
		Volumes []struct {
			Name     string
			ShadowOf string `json:"shadow_of"`
			ShadowID string `json:"shadow_id"`
			Offline  *bool
		}
	}
	b, err := os.ReadFile(filepath.Join(cp, "checkpoint.json"))
	if err != nil || json.Unmarshal(b, &js) != nil {
		t.Fatalf("checkpoint.json: %v", err)
	}
	var offline []string
	for _, vj := range js.Volumes {
		if vj.ShadowOf != "" && (vj.Offline == nil || vj.ShadowID == "") {
			t.Errorf("checkpoint.json: %s lacks its store id or offline flag", vj.Name)
		}
		if vj.Offline != nil && *vj.Offline {
			offline = append(offline, vj.Name)
		}
	}
	if fmt.Sprint(offline) != "[Disk0-p1@2019-06-05T10.34.42 Disk0-p1@2019-06-05T10.34.48]" {
		t.Errorf("checkpoint.json: offline copies %v", offline)
	}
}

func fuseUnmount(t *testing.T, dir string) {
	for i := 0; i < 50; i++ {
		if exec.Command("fusermount3", "-u", dir).Run() == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("could not unmount %s", dir)
}

// imageData lists the ranges of [start, end) of a sparse file that hold
// data, in offsets from start.
func imageData(t *testing.T, f *os.File, start, end int64) [][2]int64 {
	const seekData, seekHole = 3, 4
	var out [][2]int64
	for off := start; off < end; {
		d, err := syscall.Seek(int(f.Fd()), off, seekData)
		if err != nil || d >= end {
			break
		}
		h, err := syscall.Seek(int(f.Fd()), d, seekHole)
		if err != nil {
			t.Fatal(err)
		}
		h = min(h, end)
		out = append(out, [2]int64{d - start, h - start})
		off = h
	}
	return out
}

func hashRanges(t *testing.T, p string, rs [][2]int64) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	for _, r := range rs {
		if _, err := io.Copy(h, io.NewSectionReader(f, r[0], r[1]-r[0])); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// compareTreeWithNTFS3G walks the copy's directory in our mount and the
// same volume as ntfs-3g reads it from libvshadow's file: same names,
// types, sizes and content.
func compareTreeWithNTFS3G(t *testing.T, ours, volume string) {
	t.Helper()
	ref := t.TempDir()
	testutil.Run(t, "ntfs-3g", "-o", "ro", volume, ref)
	defer fuseUnmount(t, ref)
	n := 0
	err := filepath.WalkDir(ref, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(ref, p)
		q := filepath.Join(ours, rel)
		if d.IsDir() {
			a, errA := os.ReadDir(q)
			b, errB := os.ReadDir(p)
			if errA != nil || errB != nil || fmt.Sprint(dirNames(a)) != fmt.Sprint(dirNames(b)) {
				t.Errorf("%s: %v %v %v / %v", rel, dirNames(a), dirNames(b), errA, errB)
			}
			return nil
		}
		if d.Type().IsRegular() {
			n++
			if hashFile(t, q) != hashFile(t, p) {
				t.Errorf("%s: content differs from ntfs-3g's", rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Errorf("%s: no files", ours)
	}
}

func dirNames(es []os.DirEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}
