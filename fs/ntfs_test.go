//go:build linux

package fs

import (
	"bytes"
	"crypto/sha256"
	iofs "io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

// ntfsImage returns testdata/out/ntfs/small.img, building it with
// testdata/ntfs/gen.sh (mkntfs + ntfs-3g) when missing.
func ntfsImage(t *testing.T) string {
	t.Helper()
	return testutil.NTFSImage(t, "small")
}

// mountNTFS3G mounts img read-only with ntfs-3g, the independent reader
// the tree is compared with.
func mountNTFS3G(t *testing.T, img string) string {
	t.Helper()
	testutil.NeedTool(t, "ntfs-3g")
	mnt := t.TempDir()
	testutil.Run(t, "ntfs-3g", "-o", "ro,streams_interface=xattr", img, mnt)
	t.Cleanup(func() { testutil.Run(t, "fusermount3", "-u", mnt) })
	return mnt
}

// entry is what both readers must agree on for one path.
type entry struct {
	typ   iofs.FileMode
	size  int64
	mtime int64
	sum   [32]byte
	err   bool
}

func walkTree(t *testing.T, root string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e := entry{typ: fi.Mode().Type(), mtime: fi.ModTime().Unix()}
		if fi.Mode().IsRegular() {
			e.size = fi.Size()
			data, err := os.ReadFile(p)
			e.err = err != nil
			e.sum = sha256.Sum256(data)
		}
		out[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMountNTFSAgainstNTFS3G(t *testing.T) {
	img := ntfsImage(t)
	raw, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	tc := newTestCatalog()
	for d := range tc.images {
		m := newMemImage(vhdx.Extent{Off: 0, Len: int64(len(raw)), Kind: vhdx.ExtentData})
		copy(m.data, raw)
		tc.images[d] = m
	}
	mnt := mountTree(t, newRoot(tc.cat, tc.image, guest.Volumes))
	ours := filepath.Join(mnt, "checkpoints", "Now", "Disk0-vol")
	theirs := mountNTFS3G(t, img)

	a, b := walkTree(t, ours), walkTree(t, theirs)
	for p, want := range b {
		got, ok := a[p]
		switch {
		case !ok:
			t.Errorf("%s: missing (ntfs-3g shows it)", p)
		case want.err || got.err:
			t.Logf("%s: unreadable (ours %v, ntfs-3g %v)", p, got.err, want.err)
		case got.typ != want.typ || got.size != want.size || got.sum != want.sum || got.mtime != want.mtime:
			t.Errorf("%s: ours %+v, ntfs-3g %+v", p, got, want)
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			t.Errorf("%s: extra (ntfs-3g does not show it)", p)
		}
	}
	t.Logf("compared %d entries", len(b))

	ino := func(p string) uint64 {
		fi, err := os.Lstat(filepath.Join(ours, p))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	if i := ino("links/original.txt"); i != ino("links/second.txt") || i != ino("third-link.txt") || i == ino("hello.txt") {
		t.Error("hard links are not one inode")
	}
	for _, name := range []string{"user.small", "user.Zone.Identifier", "user.big"} {
		got, want := xattrOf(t, filepath.Join(ours, "streams.txt"), name), xattrOf(t, filepath.Join(theirs, "streams.txt"), name)
		if !bytes.Equal(got, want) || len(got) == 0 {
			t.Errorf("%s: ours %d bytes, ntfs-3g %d", name, len(got), len(want))
		}
	}
	// Who owned it: the descriptor as ntfs-3g gives it, and its owner.
	for _, p := range []string{"hello.txt", "links", "streams.txt"} {
		got, want := xattrOf(t, filepath.Join(ours, p), "system.ntfs_acl"), xattrOf(t, filepath.Join(theirs, p), "system.ntfs_acl")
		if !bytes.Equal(got, want) || len(got) < 20 {
			t.Errorf("%s: system.ntfs_acl of %d bytes, ntfs-3g %d", p, len(got), len(want))
		}
		if o := xattrOf(t, filepath.Join(ours, p), "user.ckptfs.owner"); !bytes.HasPrefix(o, []byte("S-1-")) {
			t.Errorf("%s: owner %q", p, o)
		}
	}
	attrs, err := strconv.ParseUint(strings.TrimPrefix(string(xattrOf(t, filepath.Join(ours, "readonly.txt"), xattrAttributes)), "0x"), 16, 32)
	if err != nil || attrs&1 == 0 {
		t.Errorf("readonly.txt attributes %#x, %v", attrs, err)
	}
	for link, want := range map[string]string{
		"link-to-hello": "hello.txt",
		"link-absolute": "nonexistent/absolute",
		"junction":      "Windows",
		"reparse-abs":   "Temp/x.txt",
		"reparse-rel":   "hello.txt",
	} {
		if got, err := os.Readlink(filepath.Join(ours, link)); err != nil || got != want {
			t.Errorf("%s -> %q, %v; want %q", link, got, err, want)
		}
	}
	if got, err := os.ReadFile(filepath.Join(ours, "link-to-hello")); err != nil || !slices.Equal(got, []byte("hello, ntfs\n")) {
		t.Errorf("through link-to-hello: %q %v", got, err)
	}
}

func xattrOf(t *testing.T, p, name string) []byte {
	t.Helper()
	buf := make([]byte, 1<<16)
	n, err := syscall.Getxattr(p, name, buf)
	if err != nil {
		t.Errorf("getxattr %s %s: %v", p, name, err)
		return nil
	}
	return buf[:n]
}
