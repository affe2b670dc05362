//go:build linux

package fs

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestMountXFSVolume mounts XFS volumes (a clean one and one with a dirty
// log, replayed) and compares every path of the FUSE mount with the
// kernel's loop mount of the same image (of a recovered copy for the
// dirty one): type, mode, owner, size, times, link count, content, link
// target and extended attributes; checkpoint.json names the replay.
func TestMountXFSVolume(t *testing.T) {
	testutil.NeedFUSE(t)
	for _, variant := range []string{"tiny", "dirty"} {
		t.Run(variant, func(t *testing.T) {
			img := testutil.XFSImage(t, variant)
			kern := kernelXFSMount(t, img, variant == "dirty")
			mnt := mountImage(t, img)
			ck := filepath.Join(mnt, "checkpoints", "Base")
			vol := filepath.Join(ck, "Disk0-vol")
			n := 0
			err := filepath.WalkDir(kern, func(p string, d os.DirEntry, err error) error {
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(kern, p)
				n++
				compareXFSPath(t, filepath.Join(vol, rel), p, rel)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d paths compared", n)
			var js checkpointJSON
			data, _ := os.ReadFile(filepath.Join(ck, jsonName))
			if err := json.Unmarshal(data, &js); err != nil || len(js.Volumes) != 1 || js.Volumes[0].FSType != "xfs" ||
				(variant == "dirty") != strings.HasPrefix(js.Volumes[0].Journal, "replayed (") {
				t.Errorf("checkpoint.json:\n%s", data)
			}
		})
	}
}

func compareXFSPath(t *testing.T, ours, kernel, rel string) {
	t.Helper()
	var a, b unix.Stat_t
	if err := unix.Lstat(ours, &a); err != nil {
		t.Errorf("%s: %v", rel, err)
		return
	}
	if err := unix.Lstat(kernel, &b); err != nil {
		t.Fatal(err)
	}
	if a.Mode != b.Mode || a.Uid != b.Uid || a.Gid != b.Gid || a.Nlink != b.Nlink || a.Mtim != b.Mtim ||
		(a.Mode&unix.S_IFMT != unix.S_IFLNK && a.Size != b.Size) {
		t.Errorf("%s: mode %o %d:%d links %d size %d mtime %v; kernel %o %d:%d links %d size %d mtime %v",
			rel, a.Mode, a.Uid, a.Gid, a.Nlink, a.Size, a.Mtim, b.Mode, b.Uid, b.Gid, b.Nlink, b.Size, b.Mtim)
	}
	switch a.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		x, err1 := os.ReadFile(ours)
		y, err2 := os.ReadFile(kernel)
		if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			t.Errorf("%s: content differs (%d and %d bytes, %v)", rel, len(x), len(y), err1)
		}
	case unix.S_IFLNK:
		// The mount keeps targets inside the volume: absolute ones are
		// rewritten, relative ones cleaned (see doc.go).
		x, _ := os.Readlink(ours)
		y, _ := os.Readlink(kernel)
		if !strings.HasPrefix(y, "/") && x != path.Clean(y) {
			t.Errorf("%s: link %q, kernel %q", rel, x, y)
		}
		return // xattrs of links: not compared
	}
	if x, y := xattrNames(ours), xattrNames(kernel); !slices.Equal(x, y) {
		t.Errorf("%s: xattrs %q, kernel %q", rel, x, y)
	}
}

// xattrNames lists a file's user.* xattrs but the mount's own
// (user.ckptfs.crtime and the like).
func xattrNames(p string) []string {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	var out []string
	for _, s := range strings.Split(string(buf[:n]), "\x00") {
		if strings.HasPrefix(s, "user.") && !strings.HasPrefix(s, "user.ckptfs.") {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// kernelXFSMount mounts an image read-only through a read-only loop
// device, or, when it needs recovery, a copy through a writable one.
func kernelXFSMount(t *testing.T, img string, recover bool) string {
	t.Helper()
	args := []string{"-r", "-f", "--show", img}
	if recover {
		cp := filepath.Join(t.TempDir(), "copy.img")
		testutil.Run(t, "cp", "--sparse=always", img, cp)
		args = []string{"-f", "--show", cp}
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
