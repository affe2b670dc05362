package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// XFSImage returns testdata/out/xfs/VARIANT.img, building it with
// testdata/xfs/gen.sh when missing (see testdata/xfs/README.md). The
// images are written through loop mounts, so this needs root; without it
// the test is skipped (failed in CI).
func XFSImage(t testing.TB, variant string) string {
	t.Helper()
	return loopImage(t, "xfs", variant, "mkfs.xfs", "xfs_io", "setfattr", "losetup", "mount", "fsfreeze")
}

// ExtImage returns testdata/out/ext/VARIANT.img, building it with
// testdata/ext/gen.sh when missing (see testdata/ext/README.md), through
// loop mounts like XFSImage.
func ExtImage(t testing.TB, variant string) string {
	t.Helper()
	return loopImage(t, "ext", variant, "mke2fs", "setfattr", "losetup", "mount")
}

// loopImage builds testdata/out/AREA/VARIANT.img with testdata/AREA/gen.sh
// when missing. A file lock keeps parallel test binaries from building
// the same image twice.
func loopImage(t testing.TB, area, variant string, tools ...string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "the "+area+" test images are written through loop mounts: root only")
	}
	for _, tool := range tools {
		NeedTool(t, tool)
	}
	out := filepath.Join(RepoRoot(), "testdata", "out", area)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(out, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	img := filepath.Join(out, variant+".img")
	if _, err := os.Stat(img); err == nil {
		return img
	}
	gen := filepath.Join(RepoRoot(), "testdata", area, "gen.sh")
	if b, err := exec.Command("bash", gen, out, variant).CombinedOutput(); err != nil {
		t.Fatalf("%s/gen.sh %s: %v\n%s", area, variant, err, b)
	}
	return img
}

// ExFATImage returns testdata/out/exfat/VARIANT.img, building it with
// testdata/exfat/gen.sh when missing (see testdata/exfat/README.md): the
// tree is written through mount.exfat-fuse on a loop device.
func ExFATImage(t testing.TB, variant string) string {
	t.Helper()
	NeedFUSE(t)
	return loopImage(t, "exfat", variant, "mkfs.exfat", "tune.exfat", "fsck.exfat", "mount.exfat-fuse", "fusermount", "losetup")
}

// ExFATFuseMount mounts an exFAT image read-only with mount.exfat-fuse
// (on a read-only loop device: as root exfat-fuse wants a block device)
// in a temp folder, in the zone tz (exfat-fuse shows times in its local
// zone, ignoring the offsets stored with them); both are undone at
// cleanup. It returns the mount point.
func ExFATFuseMount(t testing.TB, img, tz string) string {
	t.Helper()
	NeedFUSE(t)
	NeedTool(t, "mount.exfat-fuse")
	NeedTool(t, "losetup")
	dev := strings.TrimSpace(string(Run(t, "losetup", "-r", "-f", "--show", img)))
	t.Cleanup(func() { _ = exec.Command("losetup", "-d", dev).Run() })
	mnt := t.TempDir()
	cmd := exec.Command("mount.exfat-fuse", "-o", "ro", dev, mnt)
	cmd.Env = append(os.Environ(), "TZ="+tz)
	if b, err := cmd.CombinedOutput(); err != nil {
		Unavailable(t, "mount.exfat-fuse "+img+": "+strings.TrimSpace(string(b)))
	}
	t.Cleanup(func() {
		if b, err := exec.Command("fusermount", "-u", mnt).CombinedOutput(); err != nil {
			t.Errorf("fusermount -u %s: %v %s", mnt, err, b)
		}
	})
	return mnt
}

// DiskWith writes a raw disk image into a temp folder holding img as its
// one partition, from 1 MiB on, in a partition table of the given kind:
// "gpt" (sgdisk, Microsoft basic data) or "mbr" (sfdisk, type 7, what
// Windows gives NTFS and exFAT alike). It returns the disk's path.
func DiskWith(t testing.TB, img, table string) string {
	t.Helper()
	st, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(disk, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(disk, st.Size()+2<<20); err != nil {
		t.Fatal(err)
	}
	sectors := st.Size() / 512
	switch table {
	case "gpt":
		NeedTool(t, "sgdisk")
		Run(t, "sgdisk", "-o", "-n", fmt.Sprintf("1:2048:%d", 2048+sectors-1), "-t", "1:0700", "-c", "1:data", disk)
	case "mbr":
		NeedTool(t, "sfdisk")
		cmd := exec.Command("sfdisk", "-q", disk)
		cmd.Stdin = strings.NewReader(fmt.Sprintf("label: dos\nlabel-id: 0x1c2d3e4f\nstart=2048, size=%d, type=7\n", sectors))
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sfdisk: %v %s", err, b)
		}
	default:
		t.Fatalf("DiskWith: table %q", table)
	}
	Run(t, "dd", "if="+img, "of="+disk, "bs=1M", "seek=1", "conv=notrunc,sparse", "status=none")
	return disk
}
