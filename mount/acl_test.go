//go:build linux

package mount

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"golang.org/x/sys/unix"
)

// aclVolume builds testdata/ext/acl.sh's volume of the given kind, wraps
// it in a VHDX folder for the catalog and mounts the raw image read-only
// with the kernel's ext4 at a folder every user may enter. It returns the
// VHDX's folder and the kernel's mount.
func aclVolume(t *testing.T, kind string) (src, kernel string) {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.Unavailable(t, "writing ACLs through the kernel's ext4 needs root")
	}
	for _, tool := range []string{"mkfs.ext4", "setfacl", "setfattr", "setpriv", "qemu-img"} {
		testutil.NeedTool(t, tool)
	}
	dir := t.TempDir()
	img := filepath.Join(dir, kind+".img")
	script := filepath.Join(testutil.RepoRoot(), "testdata", "ext", "acl.sh")
	if b, err := exec.Command("bash", script, img, kind).CombinedOutput(); err != nil {
		t.Fatalf("acl.sh %s: %v\n%s", kind, err, b)
	}
	src = filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "qemu-img", "convert", "-f", "raw", "-O", "vhdx", img, filepath.Join(src, "disk.vhdx"))
	kernel = filepath.Join(dir, "kernel")
	if err := os.Mkdir(kernel, 0o755); err != nil {
		t.Fatal(err)
	}
	enterable(t, kernel)
	testutil.Run(t, "mount", "-o", "ro,loop,noload", img, kernel)
	t.Cleanup(func() { exec.Command("umount", kernel).Run() })
	return src, kernel
}

// enterable opens the folders above p to every user (t.TempDir makes
// them 0700), so that the users of the access checks reach p.
func enterable(t *testing.T, p string) {
	t.Helper()
	for d := filepath.Dir(p); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// guestVolume returns the one volume folder of the mount's newest
// checkpoint.
func guestVolume(t *testing.T, mnt string) string {
	t.Helper()
	latest := filepath.Join(mnt, "latest")
	ents, err := os.ReadDir(latest)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() && e.Name() != "disks" && e.Name() != "volumes" {
			return filepath.Join(latest, e.Name())
		}
	}
	t.Fatalf("no volume folder in %s", latest)
	return ""
}

// aclNames are the attributes `ls -l` asks about, and the default ACL.
var aclNames = []string{"security.selinux", "system.posix_acl_access", "system.posix_acl_default"}

// getxattr returns an attribute's value or the error, as a comparable
// string.
func getxattr(p, name string) string {
	buf := make([]byte, 4096)
	n, err := unix.Lgetxattr(p, name, buf)
	if err != nil {
		return "error " + err.Error()
	}
	return fmt.Sprintf("%x", buf[:n])
}

// relPaths lists every path below root, root itself as ".".
func relPaths(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// compareXattrs checks every ACL and label of the volume against the
// kernel's: the same values; where the kernel has none, ENODATA, or
// EOPNOTSUPP for a label the volume's root does not carry either.
func compareXattrs(t *testing.T, kernel, ours string, unlabelled bool) {
	t.Helper()
	for _, rel := range relPaths(t, kernel) {
		for _, name := range aclNames {
			want, got := getxattr(filepath.Join(kernel, rel), name), getxattr(filepath.Join(ours, rel), name)
			if got == want {
				continue
			}
			label := strings.HasPrefix(name, "security.")
			if want == "error "+syscall.ENODATA.Error() && label && unlabelled && got == "error "+syscall.EOPNOTSUPP.Error() {
				continue
			}
			t.Errorf("%s %s: %s, kernel %s", rel, name, got, want)
		}
	}
}

// lsMarks is `ls -l` of a folder cut to each entry's mode column (with
// its '+' for an ACL and '.' for a label) and name; without labels when
// noLabels.
func lsMarks(t *testing.T, dir string, noLabels bool) string {
	t.Helper()
	cmd := exec.Command("ls", "-l", dir)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ls -l %s: %v", dir, err)
	}
	var b strings.Builder
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 9 {
			if noLabels {
				f[0] = strings.TrimSuffix(f[0], ".")
			}
			fmt.Fprintf(&b, "%s %s\n", f[0], f[len(f)-1])
		}
	}
	return b.String()
}

// compareListings checks that `ls -l` of every folder marks the same
// entries as through the kernel. On a volume whose root has no label,
// `ls -l` stops asking for labels at the first file without one (see
// fs/xattrabsent.go), so a label's '.' is not compared there: its file
// is listed after the unlabelled folder ls asks about first.
func compareListings(t *testing.T, kernel, ours string, unlabelled bool) {
	t.Helper()
	for _, rel := range relPaths(t, kernel) {
		if fi, err := os.Stat(filepath.Join(kernel, rel)); err != nil || !fi.IsDir() {
			continue
		}
		if want, got := lsMarks(t, filepath.Join(kernel, rel), unlabelled), lsMarks(t, filepath.Join(ours, rel), unlabelled); got != want {
			t.Errorf("ls -l %s:\n%s\nkernel:\n%s", rel, got, want)
		}
	}
}

// aclUsers are who the access checks run as: the owner of shared/, the
// users the ACLs grant and deny, a member of the named group, nobody.
var aclUsers = []struct {
	uid, gid int
	groups   string
}{{1000, 1000, "1000"}, {1001, 1001, "1001"}, {1002, 1002, "1002"}, {1004, 1004, "1003,1004"}, {65534, 65534, "65534"}}

// canRead reports whether the user reads p (a file's first byte, a
// folder's listing), as a process of theirs would.
func canRead(uid, gid int, groups, p string) bool {
	args := []string{fmt.Sprintf("--reuid=%d", uid), fmt.Sprintf("--regid=%d", gid), "--groups=" + groups, "--"}
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		args = append(args, "ls", p)
	} else {
		args = append(args, "head", "-c1", p)
	}
	cmd := exec.Command("setpriv", args...)
	cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, &bytes.Buffer{}
	return cmd.Run() == nil
}

// TestKernelChecksGuestACLs mounts ext4 volumes holding POSIX ACLs with
// -o allow_other,default_permissions and checks that every user reads
// exactly what the kernel's own ext4 lets them read: the named user an
// ACL grants, not the one it denies, not the one a mask takes a grant
// from. Mode bits alone (the kernel without FUSE_POSIX_ACL) would decide
// four of these the other way. It then checks the attributes and `ls -l`
// through this mount and a plain one.
func TestKernelChecksGuestACLs(t *testing.T) {
	for _, kind := range []string{"labelled", "unlabelled"} {
		t.Run(kind, func(t *testing.T) {
			src, kernel := aclVolume(t, kind)
			mnt, stop, errc := startRunWith(t, openCatalog(t, src), Options{AllowOther: true, Extra: []string{"default_permissions"}})
			defer unmountRun(t, stop, errc)
			enterable(t, mnt)
			checked := guestVolume(t, mnt)
			decided := 0
			for _, rel := range relPaths(t, kernel) {
				for _, u := range aclUsers {
					want := canRead(u.uid, u.gid, u.groups, filepath.Join(kernel, rel))
					if got := canRead(u.uid, u.gid, u.groups, filepath.Join(checked, rel)); got != want {
						t.Errorf("uid %d reads %s: %v, kernel %v", u.uid, rel, got, want)
					}
					if !want {
						decided++
					}
				}
			}
			if decided == 0 {
				t.Fatal("the kernel refused nothing: the access checks test nothing")
			}
			compareXattrs(t, kernel, checked, kind == "unlabelled")
			compareListings(t, kernel, checked, kind == "unlabelled")

			// A label is EOPNOTSUPP only where the root has none: that is
			// what saves `ls -l` a round trip an entry.
			wantErr := map[string]syscall.Errno{"labelled": syscall.ENODATA, "unlabelled": syscall.EOPNOTSUPP}[kind]
			if _, err := unix.Lgetxattr(filepath.Join(checked, "plain.txt"), "security.selinux", nil); err != wantErr {
				t.Errorf("plain.txt security.selinux: %v, want %v", err, wantErr)
			}
			plainMnt, stopPlain, errcPlain := startRun(t, openCatalog(t, src))
			defer unmountRun(t, stopPlain, errcPlain)
			plain := guestVolume(t, plainMnt)
			compareXattrs(t, kernel, plain, kind == "unlabelled")
			compareListings(t, kernel, plain, kind == "unlabelled")
		})
	}
}

// unmountRun ends a mount of startRun and waits for Run to return.
func unmountRun(t *testing.T, stop func(), errc chan error) {
	t.Helper()
	stop()
	if err := <-errc; err != nil {
		t.Errorf("Run: %v", err)
	}
}
