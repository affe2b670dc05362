//go:build linux

package ntfs

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// windowsSample unpacks a Windows-made sample volume (partition at sector
// 128), opens it, and mounts the partition with ntfs-3g through a
// read-only loop device.
func windowsSample(t *testing.T, name string) (v *Volume, img string, mnt string) {
	t.Helper()
	for _, tool := range []string{"ntfs-3g", "losetup", "icat"} {
		testutil.NeedTool(t, tool)
	}
	testutil.NeedFUSE(t)
	img = testutil.UnpackSample(t, "windows/"+name)
	const off = 128 * 512
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	size := st.Size() - off
	if v, err = NewVolume(io.NewSectionReader(f, off, size), size); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", "--read-only", "--offset", strconv.Itoa(off), img).Output()
	if err != nil {
		testutil.Unavailable(t, "losetup: "+err.Error())
	}
	loop := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", loop).Run() })
	mnt = t.TempDir()
	if out, err := exec.Command("ntfs-3g", "-o", "ro,streams_interface=xattr", loop, mnt).CombinedOutput(); err != nil {
		t.Fatalf("ntfs-3g: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("fusermount", "-u", mnt).Run() })
	return v, img, mnt
}

// TestWindowsSamples compares every file of the Windows-made samples with
// ntfs-3g (type, size, content, times, streams, security descriptor) and
// with sleuthkit's icat (content).
func TestWindowsSamples(t *testing.T) {
	for _, name := range []string{"ntfs-ptrn.raw.gz", "ntfs-lastaccess.raw.gz"} {
		t.Run(name, func(t *testing.T) {
			v, img, mnt := windowsSample(t, name)
			right, wrong := 0, 0
			err := fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if p == "." {
					return nil
				}
				bad := compareWindowsEntry(t, v, img, p, filepath.Join(mnt, p))
				if bad {
					wrong++
				} else {
					right++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d entries right, %d wrong", name, right, wrong)
			if right < 5 {
				t.Errorf("only %d entries compared", right)
			}
		})
	}
}

// compareWindowsEntry compares one path and reports whether it differed.
func compareWindowsEntry(t *testing.T, v *Volume, img, p, real string) (bad bool) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Errorf(p+": "+format, args...)
		bad = true
	}
	info, err := v.Stat(p)
	if err != nil {
		fail("%v", err)
		return
	}
	rec := info.Sys().(*FileRecordInfo)
	var st syscall.Stat_t
	if err := syscall.Lstat(real, &st); err != nil {
		fail("ntfs-3g: %v", err)
		return
	}
	if uint64(st.Ino) != rec.Ref.Record {
		fail("record %d, ntfs-3g inode %d", rec.Ref.Record, st.Ino)
	}
	for what, pair := range map[string][2]time.Time{
		"mtime": {info.ModTime(), time.Unix(st.Mtim.Sec, st.Mtim.Nsec)},
		"atime": {rec.Accessed, time.Unix(st.Atim.Sec, st.Atim.Nsec)},
		"ctime": {rec.Changed, time.Unix(st.Ctim.Sec, st.Ctim.Nsec)},
	} {
		if !pair[0].Equal(pair[1]) {
			fail("%s %v, ntfs-3g %v", what, pair[0], pair[1])
		}
	}
	// Security descriptor and owner, as ntfs-3g gives them.
	x, err := rec.Xattrs()
	if err != nil {
		fail("xattrs: %v", err)
	}
	acl := make([]byte, 64<<10)
	if n, err := syscall.Getxattr(real, XattrNTFSACL, acl); err != nil || !bytes.Equal(acl[:n], x[XattrNTFSACL]) {
		fail("%s: %d bytes, ntfs-3g %d (%v)", XattrNTFSACL, len(x[XattrNTFSACL]), n, err)
	} else if o := string(x[XattrOwner]); !strings.HasPrefix(o, "S-1-") {
		fail("owner %q", o)
	}
	if info.IsDir() {
		if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
			fail("directory, ntfs-3g mode %o", st.Mode)
		}
		return
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || info.Size() != st.Size {
		fail("size %d, ntfs-3g mode %o size %d", info.Size(), st.Mode, st.Size)
		return
	}
	ours := readAll(t, v, p, "")
	theirs, err := os.ReadFile(real)
	if err != nil || !bytes.Equal(ours, theirs) {
		fail("content differs from ntfs-3g (%v)", err)
	}
	icat, err := exec.Command("icat", "-o", "128", img, strconv.FormatUint(rec.Ref.Record, 10)).Output()
	if err != nil || !bytes.Equal(ours, icat) {
		fail("content differs from icat (%v)", err)
	}
	// Named streams, as ntfs-3g's user.* xattrs.
	var names []string
	for _, s := range rec.Streams {
		names = append(names, s.Name)
		val := make([]byte, 64<<10)
		n, err := syscall.Getxattr(real, "user."+s.Name, val)
		if err != nil || !bytes.Equal(val[:n], readAll(t, v, p, s.Name)) {
			fail("stream %s differs from ntfs-3g (%v)", s.Name, err)
		}
	}
	list := make([]byte, 64<<10)
	n, _ := syscall.Listxattr(real, list)
	var theirNames []string
	for _, s := range strings.Split(string(list[:n]), "\x00") {
		if s, ok := strings.CutPrefix(s, "user."); ok {
			theirNames = append(theirNames, s)
		}
	}
	sort.Strings(theirNames)
	if strings.Join(names, "|") != strings.Join(theirNames, "|") {
		fail("streams %q, ntfs-3g %q", names, theirNames)
	}
	return bad
}

func readAll(t *testing.T, v *Volume, p, stream string) []byte {
	t.Helper()
	f, err := v.OpenStream(p, stream)
	if err != nil {
		t.Errorf("%s:%s: %v", p, stream, err)
		return nil
	}
	b, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	if err != nil {
		t.Errorf("%s:%s: %v", p, stream, err)
	}
	return b
}
