//go:build linux

package guest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// dynamicVolumes reads the named disks of testdata/ldm/gen.sh (as Disk1,
// Disk2, ... by their file's number) and joins them.
func dynamicVolumes(t *testing.T, dir string, files ...string) (perDisk [][]*Volume, joined []*Volume) {
	t.Helper()
	var all []*Volume
	for _, f := range files {
		fh, err := os.Open(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fh.Close() })
		st, _ := fh.Stat()
		name := "D" + strings.TrimSuffix(strings.TrimPrefix(f, "d"), ".img")
		vols, err := Volumes(fh, st.Size(), name)
		if err != nil {
			t.Fatal(err)
		}
		perDisk = append(perDisk, vols)
		all = append(all, vols...)
	}
	return perDisk, JoinVolumeGroups(all)
}

func volumeNamed(vols []*Volume, name string) *Volume {
	for _, v := range vols {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// TestDynamicDisks reads the three dynamic disks of testdata/ldm: each
// disk alone lists its LDM partitions and the volumes whose first extent
// it holds (the ones on it alone opened); joined, every volume is opened
// and its files are those the script put in (sha256sum) and, for NTFS,
// those ntfs-3g reads from the volume's image (the bytes ldmtool's
// figures assemble: ldm.TestLdmtool).
func TestDynamicDisks(t *testing.T) {
	dir := testutil.LDMDisks(t)
	perDisk, joined := dynamicVolumes(t, dir, "disk1.img", "disk2.img", "disk3.img")
	alone := map[string]bool{}
	for _, vols := range perDisk {
		for _, v := range vols {
			alone[v.Name] = v.FS != nil
		}
	}
	wantAlone := map[string]bool{
		"Disk1-p1": false, "Disk1-ldm-Volume1": true, "Disk1-ldm-Volume2": false, "Disk1-ldm-Volume4": false,
		"Disk1-ldm-Volume5": true, "Disk1-ldm-Volume7": false,
		"Disk2-p1": false, "Disk2-p2": false, "Disk2-p3": false, "Disk2-ldm-Volume3": true,
		"Disk3-p1": false, "Disk3-ldm-Volume6": true,
	}
	if !equalMaps(alone, wantAlone) {
		t.Errorf("each disk alone: %v\nwant %v", alone, wantAlone)
	}
	for _, vols := range perDisk {
		for _, v := range vols {
			if v.Name == "Disk1-ldm-Volume2" || v.Name == "Disk1-ldm-Volume4" {
				if !errors.Is(v.Err, ErrMissingPV) || !strings.Contains(v.Err.Error(), "Disk2") {
					t.Errorf("%s alone: %v", v.Name, v.Err)
				}
			}
		}
	}
	want := map[string]string{ // name -> filesystem
		"Disk1-ldm-Volume1": "ntfs", "Disk1-ldm-Volume2": "ntfs", "Disk2-ldm-Volume3": "fat12",
		"Disk1-ldm-Volume4": "fat12", "Disk1-ldm-Volume5": "fat12", "Disk3-ldm-Volume6": "fat12",
		"Disk1-ldm-Volume7": "fat12",
	}
	for name, kind := range want {
		v := volumeNamed(joined, name)
		if v == nil {
			t.Errorf("%s: not listed", name)
			continue
		}
		if v.Err != nil || v.FSType != kind {
			t.Errorf("%s: %s, %v; want %s", name, v.FSType, v.Err, kind)
			continue
		}
		vol := strings.TrimPrefix(name[strings.Index(name, "-ldm-")+5:], "")
		img, err := os.ReadFile(filepath.Join(dir, vol+".img"))
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, v.Size)
		if _, err := v.Reader.ReadAt(b, 0); err != nil && err != io.EOF {
			t.Fatalf("%s: %v", name, err)
		}
		if sha256.Sum256(b) != sha256.Sum256(img) {
			t.Errorf("%s: bytes differ from %s.img", name, vol)
		}
		sums, err := os.ReadFile(filepath.Join(dir, vol+".files"))
		if err != nil {
			t.Fatal(err)
		}
		checkSums(t, v.FS, string(sums))
		if kind == "ntfs" {
			n := compareWithNTFS3G(t, v.FS, filepath.Join(dir, vol+".img"))
			t.Logf("%s: %d entries as ntfs-3g reads them", name, n)
		}
	}
	// The LDM partitions hold no filesystem: Volume6 starts at Disk3's
	// data area, so the 0x42 partition opens with its boot sector.
	for _, name := range []string{"Disk1-p1", "Disk2-p1", "Disk2-p3", "Disk3-p1"} {
		v := volumeNamed(joined, name)
		if v == nil || v.FS != nil || v.Err != nil || v.Purpose != purposeLDM {
			t.Errorf("%s: %+v", name, v)
		}
	}
	if v := volumeNamed(joined, "Disk1-ldm-Volume1"); v.Remapped || v.Start != 63*512+1<<20 || v.Table != "ldm" {
		t.Errorf("Volume1: remapped %v, start %d, table %q", v.Remapped, v.Start, v.Table)
	}
	if v := volumeNamed(joined, "Disk1-ldm-Volume2"); !v.Remapped {
		t.Error("Volume2 over two disks is not marked remapped")
	}
	if again := JoinVolumeGroups(joined); !sameNames(again, joined) {
		t.Errorf("joining again: %v", volNames(again))
	}
	// No Windows here gives letters: those the database records stand.
	letters := DriveLetters(joined)
	if l := letters[volumeNamed(joined, "Disk1-ldm-Volume1")]; l != "E:" {
		t.Errorf("Volume1's letter %q, want E:", l)
	}
	if l, ok := letters[volumeNamed(joined, "Disk3-ldm-Volume6")]; ok {
		t.Errorf("Volume6, which the database gives no letter, has %q", l)
	}
}

// TestDynamicDiskMembers: each dynamic disk is a member of its disk
// group, listing the group's three disks (what the catalog puts loose
// disks together by).
func TestDynamicDiskMembers(t *testing.T) {
	dir := testutil.LDMDisks(t)
	for i, f := range []string{"disk1.img", "disk2.img", "disk3.img"} {
		fh, err := os.Open(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := fh.Stat()
		ms, err := GroupMembers(fh, st.Size())
		fh.Close()
		if err != nil || len(ms) != 1 {
			t.Fatalf("%s: %v, %+v", f, err, ms)
		}
		m := ms[0]
		if m.Group != "ldm:5e1d0a00-7c1e-11e1-9e2b-00155d0a0b01" || m.ID != fmt.Sprintf("ldm:5e1d0a0%d-7c1e-11e1-9e2b-00155d0a0b01", i+1) ||
			len(m.Lists) != 3 || m.Seqno != 42 || !strings.Contains(m.Desc, fmt.Sprintf("Disk%d", i+1)) {
			t.Errorf("%s: %+v", f, m)
		}
	}
}

// TestDynamicDiskMissing joins Disk1 and Disk3 without Disk2: the volumes
// with an extent on it say so, naming it (but the RAID-5 one, rebuilt
// from its other columns); Volume3, wholly on Disk2, is listed beside
// Disk1's LDM partition.
func TestDynamicDiskMissing(t *testing.T) {
	dir := testutil.LDMDisks(t)
	_, joined := dynamicVolumes(t, dir, "disk1.img", "disk3.img")
	for _, name := range []string{"Disk1-ldm-Volume2", "Disk1-ldm-Volume3", "Disk1-ldm-Volume4"} {
		v := volumeNamed(joined, name)
		if v == nil {
			t.Errorf("%s: not listed (%v)", name, volNames(joined))
			continue
		}
		if !errors.Is(v.Err, ErrMissingPV) || !strings.Contains(v.Err.Error(), "Disk2 (GUID 5e1d0a02-") {
			t.Errorf("%s: %v", name, v.Err)
		}
	}
	for _, name := range []string{"Disk1-ldm-Volume1", "Disk1-ldm-Volume5", "Disk3-ldm-Volume6", "Disk1-ldm-Volume7"} {
		if v := volumeNamed(joined, name); v == nil || v.FS == nil {
			t.Errorf("%s: %+v", name, v)
		}
	}
	if again := JoinVolumeGroups(joined); !sameNames(again, joined) {
		t.Errorf("joining again: %v", volNames(again))
	}
}

// compareWithNTFS3G mounts img with ntfs-3g (read-only) and checks that
// fsys holds the same directories and files, of the same content; it
// returns the number of entries compared.
func compareWithNTFS3G(t *testing.T, fsys fs.FS, img string) int {
	t.Helper()
	mnt := t.TempDir()
	if out, err := exec.Command("ntfs-3g", "-o", "ro", img, mnt).CombinedOutput(); err != nil {
		t.Fatalf("ntfs-3g: %v\n%s", err, out)
	}
	defer exec.Command("fusermount3", "-u", mnt).Run()
	var theirs, ours []string
	filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == mnt {
			return err
		}
		rel, _ := filepath.Rel(mnt, p)
		if strings.HasPrefix(rel, "$") || strings.HasPrefix(rel, "System Volume Information") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		theirs = append(theirs, rel+entryHash(t, d.IsDir(), func() ([]byte, error) { return os.ReadFile(p) }))
		return nil
	})
	fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		if strings.HasPrefix(p, "$") || strings.HasPrefix(p, "System Volume Information") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		ours = append(ours, p+entryHash(t, d.IsDir(), func() ([]byte, error) { return fs.ReadFile(fsys, p) }))
		return nil
	})
	sort.Strings(theirs)
	sort.Strings(ours)
	if !slicesEqual(theirs, ours) {
		t.Errorf("entries differ from ntfs-3g's:\nours   %v\ntheirs %v", ours, theirs)
	}
	return len(ours)
}

func entryHash(t *testing.T, dir bool, read func() ([]byte, error)) string {
	if dir {
		return "/"
	}
	b, err := read()
	if err != nil {
		t.Error(err)
		return " unreadable"
	}
	s := sha256.Sum256(b)
	return " " + string(bytes.ToUpper([]byte(hexOf(s[:8]))))
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalMaps(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func volNames(vols []*Volume) []string {
	var out []string
	for _, v := range vols {
		out = append(out, v.Name)
	}
	return out
}

func sameNames(a, b []*Volume) bool { return slicesEqual(volNames(a), volNames(b)) }

// TestDynamicDiskOverStaleLVMLabel: a disk that was an LVM physical
// volume before Windows made it dynamic keeps the label in sector 1
// (Windows writes sectors 0 and 6 and the database at the end). Its MBR
// and LDM database win: read as a whole-disk physical volume, Disk1 was
// lost to its group, its volumes listed nowhere and the ones over several
// disks missing it, and the catalog kept it apart from the others.
func TestDynamicDiskOverStaleLVMLabel(t *testing.T) {
	dir := testutil.LDMDisks(t)
	tmp := t.TempDir()
	for _, f := range []string{"disk1.img", "disk2.img", "disk3.img"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "disk1.img" {
			pv := makeLVMPV(len(b), 1<<20, spanUUIDA, fmt.Sprintf(lvmSpanText, 1, spanUUIDA, spanUUIDB), false)
			for s := 1; s < 32; s++ { // the label and metadata, around the PRIVHEAD (sector 6)
				if s != 6 {
					copy(b[s*512:(s+1)*512], pv[s*512:])
				}
			}
			if k, _ := detectFS(bytes.NewReader(b), int64(len(b))); k != fsLVM2 {
				t.Fatalf("disk1 with the label reads as %q", k)
			}
		}
		if err := os.WriteFile(filepath.Join(tmp, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	perDisk, joined := dynamicVolumes(t, tmp, "disk1.img", "disk2.img", "disk3.img")
	if got := volNames(perDisk[0]); !slicesEqual(got, []string{"Disk1-p1", "Disk1-ldm-Volume1", "Disk1-ldm-Volume2",
		"Disk1-ldm-Volume4", "Disk1-ldm-Volume5", "Disk1-ldm-Volume7"}) {
		t.Errorf("disk1 alone: %v", got)
	}
	for _, v := range joined {
		if strings.Contains(v.Name, "-ldm-") && v.FS == nil {
			t.Errorf("%s: not opened: %v", v.Name, v.Err)
		}
	}
	fh, err := os.Open(filepath.Join(tmp, "disk1.img"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	ms, err := GroupMembers(fh, st.Size())
	if err != nil || len(ms) != 1 || !strings.HasPrefix(ms[0].Group, "ldm:") {
		t.Errorf("members: %v, %+v", err, ms)
	}
}

// TestDynamicDisksConflictingDatabases: Disk2's copy of the database
// renames Volume1 under the same sequence number as the others' (Windows
// writes one database to all the disks of a group with each commit).
// Which copy is the group's cannot be told, so Volume1, which the copies
// describe differently, is not read, naming the conflict; the volumes
// they describe alike are read, over several disks too (the policy LVM
// follows). Before, every dynamic volume of the group was refused.
func TestDynamicDisksConflictingDatabases(t *testing.T) {
	dir := testutil.LDMDisks(t)
	tmp := t.TempDir()
	for _, f := range []string{"disk1.img", "disk2.img", "disk3.img"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "disk2.img" {
			db := b[34*512 : (34+2048)*512] // its LDM metadata partition
			at := bytes.Index(db, []byte("\x07Volume1"))
			if at < 0 {
				t.Fatal("no record of Volume1 in disk2's database")
			}
			db[at+7] = '9'
		}
		if err := os.WriteFile(filepath.Join(tmp, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, joined := dynamicVolumes(t, tmp, "disk1.img", "disk2.img", "disk3.img")
	n := 0
	for _, v := range joined {
		if !strings.Contains(v.Name, "-ldm-") {
			continue
		}
		n++
		if strings.HasSuffix(v.Name, "-Volume1") {
			if v.FS != nil || v.Reader != nil || v.Err == nil || !strings.Contains(v.Err.Error(), "different databases of sequence number 42") ||
				!strings.Contains(v.Err.Error(), "describe volume Volume1 otherwise") {
				t.Errorf("%s: read %v, error %v", v.Name, v.FS != nil, v.Err)
			}
		} else if v.Err != nil || v.Reader == nil {
			t.Errorf("%s: %v", v.Name, v.Err)
		}
	}
	if n < 7 {
		t.Errorf("%d dynamic volumes listed", n)
	}
}
