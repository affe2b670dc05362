//go:build linux

package guest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/btrfs"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// kernelFiles reads the regular files of a testdata/btrfs/multidev.sh
// list: path and sha256 ("EIO" where the kernel could not read).
func kernelFiles(t *testing.T, p string) map[string]string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) == 12 && c[1] == "f" {
			out[c[0]] = c[11]
		}
	}
	return out
}

// btrfsDisks opens each device of multidev.sh's filesystem name given by
// ks as a disk of its own (a whole-disk filesystem) and joins them.
func btrfsDisks(t *testing.T, dir, name string, ks ...int) []*Volume {
	t.Helper()
	var all []*Volume
	for i, k := range ks {
		f, err := os.Open(filepath.Join(dir, name+"-"+strconv.Itoa(k)+".img"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		st, _ := f.Stat()
		vols, err := Volumes(f, st.Size(), "Disk"+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, vols...)
	}
	return JoinVolumeGroups(all)
}

// TestBtrfsJoin reads multidev.sh's filesystems each device a disk:
// JoinVolumeGroups shows each once, in the first disk's volume, with the
// kernel's files; the other disks' volumes say they are its devices. With
// a device left out, the volume opens with a warning naming it, its files
// read as the degraded kernel read them, and those only the missing
// device holds fail with btrfs.ErrDevices.
func TestBtrfsJoin(t *testing.T) {
	dir := testutil.BtrfsMultiImages(t)
	for _, tc := range []struct {
		name    string
		ks      []int
		list    string
		missing string
	}{
		{"grown", []int{1, 2}, "grown", ""},
		{"raid5", []int{1, 2, 3}, "raid5", ""},
		{"raid10", []int{4, 2, 3, 1}, "raid10", ""},
		{"grown", []int{1}, "grown-without-2", "device 2 of its 2"},
		{"raid6", []int{2, 4}, "raid6-without-1,3", "devices 1 and 3 of its 4"},
	} {
		t.Run(tc.list, func(t *testing.T) {
			vols := btrfsDisks(t, dir, tc.name, tc.ks...)
			var fsVols []*Volume
			members := 0
			for _, v := range vols {
				if v.FS != nil {
					fsVols = append(fsVols, v)
				}
				if strings.Contains(v.Purpose, "of btrfs filesystem") {
					members++
					if !strings.Contains(v.Purpose, "read in volume Disk0") || v.Err != nil {
						t.Errorf("member %s: purpose %q, error %v", v.Name, v.Purpose, v.Err)
					}
				}
			}
			if len(fsVols) != 1 || fsVols[0].DiskName() != "Disk0" || members != len(tc.ks)-1 {
				t.Fatalf("volumes with a filesystem %v (want one, on Disk0), %d members", volNames(fsVols), members)
			}
			v := fsVols[0]
			if tc.missing == "" && v.Warning != "" || !strings.Contains(v.Warning, tc.missing) {
				t.Errorf("warning %q, want one naming %q", v.Warning, tc.missing)
			}
			want := kernelFiles(t, filepath.Join(dir, tc.list+".list"))
			same, eio := 0, 0
			for p, sum := range want {
				b, err := fs.ReadFile(v.FS, p)
				switch {
				case sum == "EIO":
					if !errors.Is(err, btrfs.ErrDevices) {
						t.Errorf("%s: the kernel could not read it; got %v", p, err)
					}
					eio++
				case err != nil:
					t.Errorf("%s: %v", p, err)
				default:
					h := sha256.Sum256(b)
					if hex.EncodeToString(h[:]) != sum {
						t.Errorf("%s: content differs from the kernel's", p)
					}
					same++
				}
			}
			t.Logf("%d files equal to the kernel's, %d unreadable on both sides", same, eio)
			again := JoinVolumeGroups(vols)
			if !slices.Equal(again, vols) {
				t.Errorf("joining again changed the volumes: %v, then %v", volNames(vols), volNames(again))
			}
		})
	}
}

// TestBtrfsGroupMembers: each device of a btrfs filesystem over several
// is a member of the fsid's group, listing the devids of the filesystem.
func TestBtrfsGroupMembers(t *testing.T) {
	dir := testutil.BtrfsMultiImages(t)
	for k := 1; k <= 3; k++ {
		f, err := os.Open(filepath.Join(dir, "raid5-"+strconv.Itoa(k)+".img"))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		ms, err := GroupMembers(f, st.Size())
		f.Close()
		const fsid = "f3b1c2d4-0005-4000-8000-000000000005"
		if err != nil || len(ms) != 1 || ms[0].Group != "btrfs:"+fsid || ms[0].ID != "btrfs:"+fsid+":"+strconv.Itoa(k) || len(ms[0].Lists) != 3 {
			t.Errorf("raid5-%d: %+v, %v", k, ms, err)
		}
	}
}

// TestBtrfsJoinTopLevel: an openSUSE-like filesystem over two disks (its
// default subvolume a snapshot) shows its default subvolume in the first
// disk's volume and its top level once, in that volume's -toplevel
// sibling, each with the kernel's files; the second disk's volume has no
// sibling of its own.
func TestBtrfsJoinTopLevel(t *testing.T) {
	dir := testutil.BtrfsMultiSuse(t)
	vols := btrfsDisks(t, dir, "suse", 1, 2)
	byName := map[string]*Volume{}
	for _, v := range vols {
		byName[v.Name] = v
	}
	def, top := byName["Disk0-vol"], byName["Disk0-vol"+topLevelSuffix]
	if def == nil || top == nil || def.FS == nil || top.FS == nil || len(vols) != 3 || byName["Disk1-vol"] == nil || byName["Disk1-vol"].FS != nil {
		t.Fatalf("volumes %v", volNames(vols))
	}
	n := 0
	for _, c := range []struct {
		fsys fs.FS
		list string
	}{{def.FS, "default"}, {top.FS, "top"}} {
		for p, sum := range kernelFiles(t, filepath.Join(dir, c.list+".list")) {
			b, err := fs.ReadFile(c.fsys, p)
			h := sha256.Sum256(b)
			if err != nil || hex.EncodeToString(h[:]) != sum {
				t.Errorf("%s: %s: %v, or content differs from the kernel's", c.list, p, err)
			}
			n++
		}
	}
	if n < 6 {
		t.Errorf("only %d files compared", n)
	}
	t.Logf("%d files equal to the kernel's", n)
}
