//go:build linux

package guest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestLVMSpanningDisks reads testdata/guest/lvmspan.sh's guest, grown
// onto a second disk: its root logical volume has extents on a GPT
// partition of disk a and on all of disk b. Each disk alone lists root as
// waiting; JoinVolumeGroups over both opens it. Oracles: where lvs (LVM's
// own tools, reading the same metadata from loop devices) puts each
// segment, the sha256 of the ext4 image the script split onto the
// extents, sha256sum of the files put in, and blkid -p of the volume
// ckptfs reassembled. Again with disk b's physical volume made without a
// metadata area (pvcreate --metadatacopies 0).
func TestLVMSpanningDisks(t *testing.T) {
	for _, bare := range []bool{false, true} {
		t.Run(map[bool]string{false: "metadata on both", true: "no metadata on b"}[bare], func(t *testing.T) {
			testLVMSpanning(t, testutil.LVMSpanDisks(t, bare), bare)
		})
	}
}

func testLVMSpanning(t *testing.T, dir string, bare bool) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	disks := map[string][]byte{}
	for _, d := range []string{"a", "b"} {
		b, err := os.ReadFile(filepath.Join(dir, d+".img"))
		if err != nil {
			t.Fatal(err)
		}
		disks[d] = b
	}
	perDisk, joined := spanDisks(t, disks, "a", "b")
	pvName := map[string]string{"a": "a-p1", "b": "b-vol"} // the disk's PV volume

	// Per disk: root waits for the other disk, naming pv1's UUID as pvs
	// gives it.
	pvUUID := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(read("pvs.txt")), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[2] != "grown" {
			t.Fatalf("pvs line %q", line)
		}
		pvUUID[f[0]] = f[1]
	}
	// GroupMembers: each disk's physical volume, as pvs names it, and
	// the group's two (b's tells only its own without metadata).
	pvID := func(d string) string { return "lvm2:" + strings.ReplaceAll(pvUUID[d], "-", "") }
	for _, d := range []string{"a", "b"} {
		ms, err := GroupMembers(bytes.NewReader(disks[d]), int64(len(disks[d])))
		if err != nil || len(ms) != 1 {
			t.Fatalf("GroupMembers of %s: %+v %v", d, ms, err)
		}
		got := ms[0]
		if got.ID != pvID(d) || !strings.Contains(got.Desc, pvUUID[d]) {
			t.Errorf("GroupMembers of %s: %+v, pvs says %s", d, got, pvUUID[d])
		}
		if bare && d == "b" {
			if got.Group != "" || len(got.Lists) != 0 {
				t.Errorf("GroupMembers of bare b: %+v", got)
			}
			continue
		}
		if got.Group != "lvm2:GrowVG-0000-1111-2222-3333-4444-555566" || strings.Join(got.Lists, " ") != pvID("a")+" "+pvID("b") || got.Seqno <= 0 {
			t.Errorf("GroupMembers of %s: %+v", d, got)
		}
	}

	m := byNameOf(perDisk)
	if v := m["a-p1-grown-root"]; v == nil || v.FS != nil || !errors.Is(v.Err, ErrUnsupported) || !strings.Contains(v.Err.Error(), pvUUID["b"]) {
		t.Errorf("root before the join: %+v", v)
	}

	// Joined: every volume lvs lists, once, beside the physical volume
	// of its first extent, of the size lvs gives, its segments where lvs
	// puts them.
	m = byNameOf(joined)
	if got, want := volumeNames(joined), "a-p1 a-p1-grown-root a-p1-grown-swap b-vol b-vol-grown-data"; got != want {
		t.Errorf("joined: %s, want %s", got, want)
	}
	if v := byNameOf(perDisk)["b-vol-grown-data"]; bare != (v == nil) {
		t.Errorf("data listed by disk b alone: %+v", v)
	}
	type seg struct {
		disk               string
		start, count, from int64
	}
	lvsSegs := map[string][]seg{}
	for _, line := range strings.Split(strings.TrimSpace(read("lvs.txt")), "\n") {
		var name, rng string
		var s seg
		if _, err := fmt.Sscan(line, &name, &s.start, &s.count, &rng); err != nil {
			t.Fatalf("lvs line %q: %v", line, err)
		}
		disk, first, _ := strings.Cut(rng, ":")
		first, _, _ = strings.Cut(first, "-")
		s.disk = disk
		s.from, _ = strconv.ParseInt(first, 10, 64)
		lvsSegs[name] = append(lvsSegs[name], s)
	}
	for _, line := range strings.Split(strings.TrimSpace(read("lvsize.txt")), "\n") {
		var name string
		var size int64
		if _, err := fmt.Sscan(line, &name, &size); err != nil {
			t.Fatalf("lvs line %q: %v", line, err)
		}
		segs := lvsSegs[name]
		if len(segs) == 0 {
			t.Fatalf("lvs lists %s with no segments", name)
		}
		v := m[pvName[segs[0].disk]+"-grown-"+name]
		if v == nil || v.Err != nil || v.Size != size {
			t.Errorf("%s: %+v; lvs says %d bytes", name, v, size)
			continue
		}
		r, ok := v.Reader.(*lvmReader)
		if !ok || len(r.segs) != len(segs) {
			t.Errorf("%s: reader %T, lvs says %d segments", name, v.Reader, len(segs))
			continue
		}
		for i, s := range r.segs {
			// The disk of the physical volume the segment is read from.
			var disk string
			for d, pv := range pvName {
				if r.pvs[s.pv].r == m[pv].Reader {
					disk = d
				}
			}
			if got := (seg{disk, s.lvStart, s.count, s.pvStart}); got != segs[i] {
				t.Errorf("%s segment %d: %+v, lvs says %+v", name, i, got, segs[i])
			}
		}
		// DiskRuns: the same segments as disk bytes (a's physical
		// volume is partition 1 at 1 MiB, b's the whole disk; extents
		// start 1 MiB in).
		var want []DiskRun
		for _, s := range segs {
			at := map[string]int64{"a": 2 << 20, "b": 1 << 20}[s.disk] + s.from*(4<<20)
			want = append(want, DiskRun{Disk: s.disk, Off: at, Len: s.count * (4 << 20)})
		}
		if runs, ok := v.DiskRuns(); !ok || fmt.Sprint(runs) != fmt.Sprint(want) {
			t.Errorf("%s: DiskRuns %v %v, lvs says %v", name, runs, ok, want)
		}
	}

	// root's bytes are the ext4 image the script split onto both disks.
	root := m["a-p1-grown-root"]
	if root == nil || root.FS == nil || root.FSType != fsExt4 || root.Label != "root" || !root.Remapped || root.DiskName() != "a" {
		t.Fatalf("root: %+v", root)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(root.Reader, 0, root.Size)); err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), strings.TrimSpace(read("root.img.sha256")); got != want {
		t.Errorf("root's bytes: sha256 %s, the image split onto the extents %s", got, want)
	}
	checkSums(t, root.FS, read("root.files"))
	checkSums(t, m["b-vol-grown-data"].FS, read("data.files"))
	if v := m["a-p1-grown-swap"]; v == nil || v.FSType != fsSwap || v.Err != nil {
		t.Errorf("swap: %+v", v)
	}

	// blkid on the reassembled volume says what it said of the image.
	if _, err := exec.LookPath("blkid"); err == nil {
		img := filepath.Join(t.TempDir(), "root.img")
		f, err := os.Create(img)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, io.NewSectionReader(root.Reader, 0, root.Size)); err != nil {
			t.Fatal(err)
		}
		f.Close()
		out, err := exec.Command("blkid", "-p", "-o", "export", img).Output()
		if err != nil {
			t.Fatalf("blkid: %v", err)
		}
		got := strings.Join(strings.Split(strings.TrimSpace(string(out)), "\n")[1:], "\n") // DEVNAME= first
		if want := strings.TrimSpace(read("blkid-root.txt")); got != want {
			t.Errorf("blkid -p of the joined root:\n%s\nof the image:\n%s", got, want)
		}
	}

	// One disk missing: root names the physical volume that is.
	for _, c := range []struct{ disk, root, missing string }{{"a", "a-p1-grown-root", "b"}, {"b", "b-vol-grown-root", "a"}} {
		if bare && c.disk == "b" {
			continue // b alone knows nothing of its group, nor does LVM
		}
		_, one := spanDisks(t, disks, c.disk)
		v := byNameOf(one)[c.root]
		if v == nil || v.FS != nil || !errors.Is(v.Err, ErrMissingPV) || !strings.Contains(v.Err.Error(), pvUUID[c.missing]) {
			t.Errorf("disk %s alone: root %+v", c.disk, v)
		}
	}
}

// checkSums compares the files of fsys with sha256sum's lines.
func checkSums(t *testing.T, fsys fs.FS, sums string) {
	t.Helper()
	if fsys == nil {
		t.Error("no filesystem")
		return
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(sums), "\n") {
		want, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("sha256sum line %q", line)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != want {
			t.Errorf("%s: %d bytes, sha256 differs", name, len(b))
			continue
		}
		n++
	}
	if n == 0 || bytes.Count([]byte(sums), []byte("\n")) != n {
		t.Errorf("%d files of %d match", n, bytes.Count([]byte(sums), []byte("\n")))
	}
}
