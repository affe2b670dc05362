package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// LinuxDisks builds testdata/guest/linux.sh's disks in a temporary
// directory: a GPT disk laid out as RHEL's installer leaves it (EFI,
// /boot, LVM with XFS root and home and swap, a LUKS2 partition opened
// by LinuxDiskKey) and an MBR one as
// Fedora's (/boot, btrfs with root, home and log subvolumes, swap, a
// data partition), and a GPT one as openSUSE's (btrfs whose default
// subvolume is a snapshot), each root with its installer's /etc/fstab. It needs
// root (the filesystems are filled through loop mounts) and skips (fails
// in CI) without it or the tools.
func LinuxDisks(t testing.TB) (rhel, fedora, suse string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "building the Linux disks needs root (loop mounts)")
	}
	for _, tool := range []string{"sgdisk", "sfdisk", "mkfs.fat", "mcopy", "mkfs.ext4", "mkfs.xfs", "mkfs.btrfs",
		"btrfs", "mkswap", "pvcreate", "vgcfgrestore", "losetup", "mount", "cryptsetup", "blkid"} {
		NeedTool(t, tool)
	}
	dir := t.TempDir()
	script := filepath.Join(RepoRoot(), "testdata", "guest", "linux.sh")
	if out, err := exec.Command("bash", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("linux.sh: %v\n%s", err, out)
	}
	return filepath.Join(dir, "rhel.img"), filepath.Join(dir, "fedora.img"), filepath.Join(dir, "suse.img")
}

// LinuxDiskKey opens the LUKS2 partition of LinuxDisks' RHEL disk.
const LinuxDiskKey = "password:rhel secret"

// LVMSpanDisks builds testdata/guest/lvmspan.sh's guest in a temporary
// directory and returns it: a Linux VM grown onto a second disk, whose
// LVM root volume lies on both (a.img and b.img raw, vm/ a VM folder of
// two VHDX with its configuration), with what lvs, pvs and blkid say
// and the files' sha256 sums beside; with bare, b's physical volume has
// no metadata area (pvcreate --metadatacopies 0). It needs root (loop devices for the
// LVM tools) and skips (fails in CI) without it or the tools.
func LVMSpanDisks(t testing.TB, bare bool) string {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "building the LVM disks needs root (loop devices)")
	}
	for _, tool := range []string{"sgdisk", "mkfs.ext4", "mkswap", "blkid", "pvcreate", "vgcfgrestore", "lvs", "pvs",
		"losetup", "openssl", "iconv", "qemu-img"} {
		NeedTool(t, tool)
	}
	dir := t.TempDir()
	script := filepath.Join(RepoRoot(), "testdata", "guest", "lvmspan.sh")
	args := []string{script, dir}
	if bare {
		args = append(args, "bare")
	}
	if out, err := exec.Command("bash", args...).CombinedOutput(); err != nil {
		t.Fatalf("lvmspan.sh: %v\n%s", err, out)
	}
	return dir
}

// LVMSpanChain builds testdata/guest/lvmspanchain.sh's VM once (in
// testdata/out/lvmspanchain, again when it or lvmspan.sh changes) and returns
// its folder: LVMSpanDisks' guest at four states (installed,
// updated, rewritten, Now; with its LUKS2 volume vault over both disks, passphrase
// "vault secret") as a VM folder with its configuration (vm/) and the
// same disk files alone (loose/), with the kernel's listing of each state's
// root and data volumes (stateN.list). It needs root (loop mounts) and
// skips (fails in CI) without it or the tools.
func LVMSpanChain(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "building the LVM disks needs root (loop devices and mounts)")
	}
	for _, tool := range []string{"sgdisk", "mkfs.ext4", "mkswap", "blkid", "pvcreate", "vgcfgrestore", "lvs", "pvs",
		"losetup", "openssl", "iconv", "qemu-img", "debugfs", "dumpe2fs", "mount", "cryptsetup", "go"} {
		NeedTool(t, tool)
	}
	guest := filepath.Join(RepoRoot(), "testdata", "guest")
	return scriptFixture(t, "lvmspanchain", []string{filepath.Join(guest, "lvmspanchain.sh"), filepath.Join(guest, "lvmspan.sh")}, func() []string {
		mk := filepath.Join(t.TempDir(), "mkchain")
		Run(t, "go", "build", "-o", mk, filepath.Join(RepoRoot(), "tools", "mkchain"))
		return []string{"MKCHAIN=" + mk}
	})
}

// LDMDisks returns testdata/out/ldm, holding testdata/ldm/gen.sh's three
// Windows dynamic disks (disk1.img to disk3.img, raw; vm/diskN.vhdx) and
// their volumes' images and file sums, built when missing (root: ntfs-3g
// fills the NTFS volumes through FUSE).
func LDMDisks(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "building the dynamic disks needs root (ntfs-3g fills the NTFS volumes through FUSE)")
	}
	for _, tool := range []string{"mkntfs", "ntfs-3g", "fusermount3", "mkfs.fat", "mmd", "mcopy", "openssl", "qemu-img"} {
		NeedTool(t, tool)
	}
	NeedFUSE(t)
	return filepath.Dir(Fixture(t, "ldm", "disk1.img"))
}
