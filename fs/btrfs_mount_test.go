//go:build linux

package fs

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/btrfs"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestMountBtrfsVolume mounts the tiny btrfs image as a guest volume and
// compares what FUSE shows with package btrfs: content of compressed and
// plain files, modes, owners, link targets, an xattr and a subvolume.
func TestMountBtrfsVolume(t *testing.T) {
	testutil.NeedFUSE(t)
	img := filepath.Join(testutil.BtrfsImages(t), "tiny.img")
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	want, err := btrfs.Open(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	mnt := mountImage(t, img)
	vol := filepath.Join(mnt, "checkpoints", "Base", "Disk0-vol")
	n := 0
	err = fs.WalkDir(want, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n++
		fi, _ := d.Info()
		var kst syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(vol, p), &kst); err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		perm, uid, gid := fi.Sys().(*btrfs.FileInfo).POSIXAttributes()
		if kst.Mode&0o7777 != perm || kst.Uid != uid || kst.Gid != gid || kst.Size != fi.Size() && d.Type().IsRegular() {
			t.Errorf("%s: mode %o %d:%d size %d, btrfs %o %d:%d %d", p, kst.Mode, kst.Uid, kst.Gid, kst.Size, perm, uid, gid, fi.Size())
		}
		switch {
		case d.Type().IsRegular():
			got, err := os.ReadFile(filepath.Join(vol, p))
			exp, _ := fs.ReadFile(want, p)
			if err != nil || !bytes.Equal(got, exp) {
				t.Errorf("%s: content differs (%v)", p, err)
			}
		case d.Type()&fs.ModeSymlink != 0:
			got, err := os.Readlink(filepath.Join(vol, p))
			exp, _ := want.ReadLink(p)
			if err != nil || got != exp {
				t.Errorf("%s: link %q (%v), btrfs %q", p, got, err, exp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if m, err := syscall.Getxattr(filepath.Join(vol, "inline"), "user.a", buf); err != nil || string(buf[:m]) != "b" {
		t.Errorf("xattr user.a: %q, %v", buf[:max(m, 0)], err)
	}
	// A Linux filesystem has these namespaces: absent is ENODATA (an
	// NTFS volume answers EOPNOTSUPP, see TestGuestXattrs), but for a
	// label its root does not carry either (fs/xattrabsent.go).
	for name, want := range map[string]error{"security.selinux": syscall.EOPNOTSUPP,
		"system.posix_acl_access": syscall.ENODATA, "trusted.x": syscall.ENODATA} {
		if _, err := syscall.Getxattr(filepath.Join(vol, "inline"), name, buf); err != want {
			t.Errorf("xattr %s: %v, want %v", name, err, want)
		}
	}
	if n < 10 {
		t.Errorf("only %d entries walked", n)
	}
}
