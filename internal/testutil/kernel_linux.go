//go:build linux

package testutil

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// SysInfo is the duck-typed metadata contract every entry's Sys() offers.
type SysInfo interface {
	FileID() uint64
	LinkCount() int
	POSIXAttributes() (perm, uid, gid uint32)
	AccessTime() time.Time
	ChangeTime() time.Time
	CreationTime() time.Time
	Xattrs() (map[string][]byte, error)
}

// kernelEntry is what the kernel shows of one path.
type kernelEntry struct {
	st     unix.Statx_t
	hash   [32]byte
	target string
	xattrs map[string][]byte
}

func kernelView(t testing.TB, root, rel string) kernelEntry {
	t.Helper()
	p := filepath.Join(root, rel)
	var k kernelEntry
	if err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_ALL|unix.STATX_BTIME, &k.st); err != nil {
		t.Fatal(err)
	}
	switch k.st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			t.Fatal(err)
		}
		f.Close()
		copy(k.hash[:], h.Sum(nil))
	case unix.S_IFLNK:
		var err error
		if k.target, err = os.Readlink(p); err != nil {
			t.Fatal(err)
		}
	}
	k.xattrs = map[string][]byte{}
	bp := xattrBufs.Get().(*[]byte)
	defer xattrBufs.Put(bp)
	buf := *bp
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if name == "" {
			continue
		}
		m, err := unix.Lgetxattr(p, name, buf)
		if err != nil {
			t.Fatalf("%s: getxattr %s: %v", rel, name, err)
		}
		k.xattrs[name] = slices.Clone(buf[:m])
	}
	return k
}

// xattrBufs hold listxattr and getxattr answers, one per walker.
var xattrBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func statxTime(ts unix.StatxTimestamp) time.Time {
	return time.Unix(ts.Sec, int64(ts.Nsec)).UTC()
}

// KernelFS is what CompareWithKernel reads: an io/fs.FS with links.
type KernelFS interface {
	fs.FS
	Lstat(name string) (fs.FileInfo, error)
	ReadLink(name string) (string, error)
}

// CompareWithKernel walks the kernel's mount and checks that every
// path reads the same through v: type, mode, owner, size, link count,
// inode number, times in nanoseconds, content hash, link target and
// extended attributes. It returns the number of paths compared.
func CompareWithKernel(t testing.TB, v KernelFS, mnt string) int {
	t.Helper()
	count, bad := 0, 0
	err := filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(mnt, p)
		rel = filepath.ToSlash(rel)
		count++
		if msg := compareOne(t, v, mnt, rel); msg != "" {
			bad++
			if bad <= 20 {
				t.Errorf("%s: %s", rel, msg)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if bad > 0 {
		t.Errorf("%d of %d paths differ from the kernel", bad, count)
	}
	return count
}

func compareOne(t testing.TB, v KernelFS, mnt, rel string) string {
	k := kernelView(t, mnt, rel)
	fi, err := v.Lstat(rel)
	if err != nil {
		return "lstat: " + err.Error()
	}
	s := fi.Sys().(SysInfo)
	perm, uid, gid := s.POSIXAttributes()
	var diffs []string
	check := func(what string, got, want any) {
		if gt, ok := got.(time.Time); ok {
			got = gt.UTC() // a reader may give its times in any location
		}
		if got != want {
			diffs = append(diffs, what+": got "+fmtAny(got)+", kernel "+fmtAny(want))
		}
	}
	check("inode", s.FileID(), k.st.Ino)
	check("links", s.LinkCount(), int(k.st.Nlink))
	check("perm", perm, uint32(k.st.Mode&0o7777))
	check("uid", uid, k.st.Uid)
	check("gid", gid, k.st.Gid)
	check("type", uint32(FileTypeBits(fi.Mode())), uint32(k.st.Mode&unix.S_IFMT))
	if rel != "." {
		check("size", fi.Size(), int64(k.st.Size))
	}
	check("mtime", fi.ModTime(), statxTime(k.st.Mtime))
	check("atime", s.AccessTime(), statxTime(k.st.Atime))
	check("ctime", s.ChangeTime(), statxTime(k.st.Ctime))
	if k.st.Mask&unix.STATX_BTIME != 0 {
		check("btime", s.CreationTime(), statxTime(k.st.Btime))
	}
	switch k.st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		f, err := v.Open(rel)
		if err != nil {
			return "open: " + err.Error()
		}
		h := sha256.New()
		if _, err := io.Copy(h, f.(io.Reader)); err != nil {
			return "read: " + err.Error()
		}
		if !bytes.Equal(h.Sum(nil), k.hash[:]) {
			diffs = append(diffs, "content differs")
		}
	case unix.S_IFCHR, unix.S_IFBLK:
		major, minor, ok := fi.Sys().(interface {
			DeviceNumber() (major, minor uint32, ok bool)
		}).DeviceNumber()
		check("device", [3]any{major, minor, ok}, [3]any{k.st.Rdev_major, k.st.Rdev_minor, true})
	case unix.S_IFLNK:
		got, err := v.ReadLink(rel)
		if err != nil {
			return "readlink: " + err.Error()
		}
		check("target", got, k.target)
	}
	x, err := s.Xattrs()
	if err != nil {
		return "xattrs: " + err.Error()
	}
	if len(x) != len(k.xattrs) {
		diffs = append(diffs, "xattr count: got "+fmtAny(len(x))+", kernel "+fmtAny(len(k.xattrs)))
	}
	for name, want := range k.xattrs {
		if got, ok := x[name]; !ok || !bytes.Equal(got, want) {
			diffs = append(diffs, "xattr "+name+" differs")
		}
	}
	return strings.Join(diffs, "; ")
}

func fmtAny(v any) string {
	switch v := v.(type) {
	case time.Time:
		return v.Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// FileTypeBits is the S_IFMT type of a mode.
func FileTypeBits(m fs.FileMode) uint32 {
	switch {
	case m.IsDir():
		return unix.S_IFDIR
	case m&fs.ModeSymlink != 0:
		return unix.S_IFLNK
	case m&fs.ModeCharDevice != 0:
		return unix.S_IFCHR
	case m&fs.ModeDevice != 0:
		return unix.S_IFBLK
	case m&fs.ModeNamedPipe != 0:
		return unix.S_IFIFO
	case m&fs.ModeSocket != 0:
		return unix.S_IFSOCK
	}
	return unix.S_IFREG
}
