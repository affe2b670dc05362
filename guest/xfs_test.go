//go:build linux

package guest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// xfsFixture returns an image of testdata/xfs, built when missing.
func xfsFixture(t *testing.T, variant string) string {
	t.Helper()
	return testutil.XFSImage(t, variant)
}

// xfsVGText is a volume group as a RHEL installer lays it out, reduced to
// one linear logical volume "root" at extent 2 of its physical volume.
const xfsVGText = `contents = "Text Format Volume Group"
version = 1
rhel {
	id = "Q7ziDA-83PG-pFcz-hAul-L358-cxQq-p3vJ4U"
	seqno = 1
	format = "lvm2"
	status = ["RESIZEABLE", "READ", "WRITE"]
	flags = []
	extent_size = 2048 # 1 MiB
	max_lv = 0
	max_pv = 0
	metadata_copies = 0
	physical_volumes {
		pv0 {
			id = "%s"
			device = "%s"
			status = ["ALLOCATABLE"]
			flags = []
			dev_size = 43008
			pe_start = 2048
			pe_count = 20
		}
	}
	logical_volumes {
		root {
			id = "aaaaaa-bbbb-cccc-dddd-eeee-ffff-000003"
			status = ["READ", "WRITE", "VISIBLE"]
			flags = []
			segment_count = 1
			segment1 {
				start_extent = 0
				extent_count = 16
				type = "striped"
				stripe_count = 1
				stripes = [ "pv0", 2 ]
			}
		}
	}
}
`

// TestXFSVolumes reads XFS through Volumes from a GPT disk holding a
// plain XFS partition (the dirty-log image, replayed) and an LVM physical
// volume whose logical volume holds XFS (the tiny image), and compares
// both with the kernel's loop mounts of the same images.
func TestXFSVolumes(t *testing.T) {
	for _, tool := range []string{"sgdisk", "pvcreate", "vgcfgrestore", "lvs", "mount"} {
		testutil.NeedTool(t, tool)
	}
	dirty, tiny := xfsFixture(t, "dirty"), xfsFixture(t, "tiny")
	dir := t.TempDir()
	pv := makeXFSPV(t, dir, tiny)

	st, err := os.Stat(dirty)
	if err != nil {
		t.Fatal(err)
	}
	p1Start, p2Start := int64(1<<20), int64(1<<20)+st.Size()
	diskPath := filepath.Join(dir, "disk.img")
	size := p2Start + int64(len(pv)) + 1<<20
	f, err := os.Create(diskPath)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Truncate(diskPath, size); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "sgdisk", "-o",
		"-n", fmt.Sprintf("1:%d:%d", p1Start/512, p2Start/512-1), "-t", "1:8300", "-c", "1:xfs-root",
		"-n", fmt.Sprintf("2:%d:%d", p2Start/512, (p2Start+int64(len(pv)))/512-1), "-t", "2:8e00", diskPath)
	testutil.Run(t, "dd", "if="+dirty, "of="+diskPath, "bs=1M", fmt.Sprintf("seek=%d", p1Start>>20), "conv=notrunc,sparse", "status=none")
	d, err := os.OpenFile(diskPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.WriteAt(pv, p2Start); err != nil {
		t.Fatal(err)
	}
	vols, err := Volumes(d, size, "rhel")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	byName := map[string]*Volume{}
	for _, v := range vols {
		byName[v.Name] = v
		t.Logf("%s: %s %q journal %q err %v", v.Name, v.FSType, v.Label, v.Journal, v.Err)
	}
	plain, lv := byName["rhel-p1"], byName["rhel-p2-rhel-root"]
	if plain == nil || lv == nil || plain.FS == nil || lv.FS == nil {
		t.Fatalf("volumes: %+v %+v", plain, lv)
	}
	if plain.FSType != fsXFS || lv.FSType != fsXFS || lv.Label != "ckptfs-xfs" {
		t.Errorf("types %s %s, label %q", plain.FSType, lv.FSType, lv.Label)
	}
	if !strings.HasPrefix(plain.Journal, "replayed (") || lv.Journal != "" {
		t.Errorf("journals %q and %q, want the dirty one replayed and the clean one empty", plain.Journal, lv.Journal)
	}
	compareXFSWithKernel(t, plain.FS, xfsMount(t, dirty, false))
	compareXFSWithKernel(t, lv.FS, xfsMount(t, tiny, true))
}

// makeXFSPV makes an LVM physical volume with the LVM tools (pvcreate
// and vgcfgrestore, no device-mapper needed) and writes img where lvs
// says the logical volume lies.
func makeXFSPV(t *testing.T, dir, img string) []byte {
	pvPath := filepath.Join(dir, "pv.img")
	if err := os.WriteFile(pvPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(pvPath, 21<<20); err != nil {
		t.Fatal(err)
	}
	loop := strings.TrimSpace(string(testutil.Run(t, "losetup", "-f", "--show", pvPath)))
	defer exec.Command("losetup", "-d", loop).Run()
	lvm := func(args ...string) string {
		t.Helper()
		// Only this loop device, and no backup files: a test running
		// at the same time may hold a group of the same name on its own.
		args = append(args, "--devices", loop, "--config", "devices { use_devicesfile=0 } backup { backup=0 archive=0 }")
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "LVM_SUPPRESS_FD_WARNINGS=1")
		b, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, ee.Stderr)
			}
			t.Fatal(err)
		}
		return string(b)
	}
	const uuid = "hPZKcz-bVby-8h9P-qj5K-8y5e-XCk8-VtESZq"
	lvm("pvcreate", "-q", "-ff", "-y", "--uuid", uuid, "--norestorefile", loop)
	vgText := filepath.Join(dir, "vg.txt")
	if err := os.WriteFile(vgText, fmt.Appendf(nil, xfsVGText, uuid, loop), 0o644); err != nil {
		t.Fatal(err)
	}
	lvm("vgcfgrestore", "-q", "-f", vgText, "rhel")
	f := strings.Fields(lvm("lvs", "--noheadings", "--segments", "-o", "lv_name,seg_pe_ranges", "rhel"))
	if len(f) != 2 || f[0] != "root" {
		t.Fatalf("lvs: %q", f)
	}
	first, _ := strconv.ParseInt(strings.SplitN(f[1][strings.LastIndex(f[1], ":")+1:], "-", 2)[0], 10, 64)
	exec.Command("losetup", "-d", loop).Run()
	pv, err := os.ReadFile(pvPath)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	copy(pv[1<<20+first<<20:], b)
	return pv
}

// xfsMount mounts an image read-only; a dirty one is copied and mounted
// from a writable loop device so that the kernel recovers its log.
func xfsMount(t *testing.T, img string, clean bool) string {
	args := []string{"-f", "--show", img}
	if clean {
		args = append([]string{"-r"}, args...)
	} else {
		cp := filepath.Join(t.TempDir(), "copy.img")
		testutil.Run(t, "cp", "--sparse=always", img, cp)
		args[2] = cp
	}
	dev := strings.TrimSpace(string(testutil.Run(t, "losetup", args...)))
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	mnt := t.TempDir()
	if b, err := exec.Command("mount", "-t", "xfs", "-o", "ro,nouuid", dev, mnt).CombinedOutput(); err != nil {
		testutil.Unavailable(t, "the kernel cannot mount XFS: "+string(b))
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	return mnt
}

// compareXFSWithKernel checks every path of the kernel's mount through
// the volume's FS and the contract: type, permissions, owner, size, inode
// number, link count, content and link target.
func compareXFSWithKernel(t *testing.T, fsys fs.FS, mnt string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(mnt, p)
		n++
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		fi, err := fsys.(fs.ReadLinkFS).Lstat(rel)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		m := MetaOf(fi)
		perm, uid, gid := fi.Sys().(POSIXAttributer).POSIXAttributes()
		if perm != st.Mode&0o7777 || uid != st.Uid || gid != st.Gid ||
			fi.Sys().(FileIdentity).FileID() != st.Ino || fi.Sys().(LinkCounter).LinkCount() != int(st.Nlink) ||
			(!fi.IsDir() && fi.Size() != st.Size) {
			t.Errorf("%s: %o %d:%d ino %d size %d, kernel %o %d:%d ino %d size %d (%+v)", rel, perm, uid, gid,
				fi.Sys().(FileIdentity).FileID(), fi.Size(), st.Mode, st.Uid, st.Gid, st.Ino, st.Size, m)
		}
		switch {
		case d.Type().IsRegular():
			want, _ := os.ReadFile(p)
			got, err := fs.ReadFile(fsys, rel)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: content differs (%d bytes, kernel %d): %v", rel, len(got), len(want), err)
			}
		case d.Type()&fs.ModeSymlink != 0:
			want, _ := os.Readlink(p)
			if got, err := fsys.(fs.ReadLinkFS).ReadLink(rel); err != nil || got != want {
				t.Errorf("%s: link %q, kernel %q (%v)", rel, got, want, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d paths compared", n)
}
