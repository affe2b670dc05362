//go:build linux

package ntfs

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// mountNTFS3G mounts img read-only with ntfs-3g, streams as user.* xattrs.
func mountNTFS3G(t *testing.T, img string) string {
	t.Helper()
	testutil.NeedTool(t, "ntfs-3g")
	testutil.NeedFUSE(t)
	dir := t.TempDir()
	testutil.Run(t, "ntfs-3g", "-o", "ro,streams_interface=xattr", img, dir)
	t.Cleanup(func() {
		for i := 0; i < 50; i++ {
			if exec.Command("fusermount3", "-u", dir).Run() == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("could not unmount %s", dir)
	})
	return dir
}

// TestAgainstNTFS3G compares every entry of the small volume with what
// ntfs-3g shows: names, types, sizes, content, mtime, hard-link identity,
// link counts, symlink targets and every named stream.
func TestAgainstNTFS3G(t *testing.T) {
	img := image(t, "small")
	mnt := mountNTFS3G(t, img)
	v := openImage(t, "small")
	checked := 0
	err := fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		checked++
		compareEntry(t, v, p, d, filepath.Join(mnt, p))
		if d.IsDir() {
			compareNames(t, v, p, filepath.Join(mnt, p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 3000 {
		t.Errorf("only %d entries walked", checked)
	}
}

func compareNames(t *testing.T, v *Volume, p, real string) {
	ours, err := v.ReadDir(p)
	if err != nil {
		t.Errorf("%s: %v", p, err)
		return
	}
	theirs, err := os.ReadDir(real)
	if err != nil {
		t.Errorf("%s: %v", real, err)
		return
	}
	var a, b []string
	for _, e := range ours {
		a = append(a, e.Name())
	}
	for _, e := range theirs {
		b = append(b, e.Name())
	}
	sort.Strings(b)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("%s: names differ:\nours   %q\nntfs-3g %q", p, a, b)
	}
}

func compareEntry(t *testing.T, v *Volume, p string, d fs.DirEntry, real string) {
	t.Helper()
	info, err := d.Info()
	if err != nil {
		t.Errorf("%s: %v", p, err)
		return
	}
	rec := info.Sys().(*FileRecordInfo)
	var st syscall.Stat_t
	if err := syscall.Lstat(real, &st); err != nil {
		t.Errorf("%s: %v", p, err)
		return
	}
	if st.Ino != rec.Ref.Record {
		t.Errorf("%s: record %d, ntfs-3g inode %d", p, rec.Ref.Record, st.Ino)
	}
	mode := fs.FileMode(st.Mode & syscall.S_IFMT)
	if rec.Reparse != nil && (rec.Reparse.Tag == TagWOF || rec.Reparse.Tag == TagDedup) {
		// ntfs-3g shows WOF/dedup files as broken symlinks; we list them
		// as files whose data fails with ErrUnsupported.
		f, err := v.OpenFile(p)
		if err == nil {
			_, err = f.ReadAt(make([]byte, 1), 0)
		}
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: reading gave %v, want ErrUnsupported", p, err)
		}
		return
	}
	switch {
	case d.Type()&fs.ModeSymlink != 0:
		if mode != syscall.S_IFLNK {
			t.Errorf("%s: symlink here, mode %o in ntfs-3g", p, st.Mode)
			return
		}
		ours, err := v.ReadLink(p)
		theirs, err2 := os.Readlink(real)
		if err != nil || err2 != nil || !strings.HasSuffix(theirs, strings.TrimPrefix(ours, "/")) {
			t.Errorf("%s: link target %q (%v), ntfs-3g %q (%v)", p, ours, err, theirs, err2)
		}
		return
	case d.IsDir():
		if mode != syscall.S_IFDIR || !info.IsDir() {
			t.Errorf("%s: directory here, mode %o in ntfs-3g", p, st.Mode)
		}
	default:
		if mode != syscall.S_IFREG || !info.Mode().IsRegular() {
			t.Errorf("%s: file here (mode %v), mode %o in ntfs-3g", p, info.Mode(), st.Mode)
			return
		}
		if info.Size() != st.Size {
			t.Errorf("%s: size %d, ntfs-3g %d", p, info.Size(), st.Size)
		}
		if int(st.Nlink) != rec.Links {
			t.Errorf("%s: %d links, ntfs-3g %d", p, rec.Links, st.Nlink)
		}
		compareContent(t, v, p, "", real)
	}
	mt := time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
	if !mt.Equal(info.ModTime()) {
		t.Errorf("%s: mtime %v, ntfs-3g %v", p, info.ModTime(), mt)
	}
	compareStreams(t, v, p, rec, real)
	compareSecurity(t, rec, p, real)
}

// compareSecurity compares the security descriptor with ntfs-3g's
// system.ntfs_acl.
func compareSecurity(t *testing.T, rec *FileRecordInfo, p, real string) {
	t.Helper()
	sd, err := rec.SecurityDescriptor()
	buf := make([]byte, 64<<10)
	n, err2 := syscall.Getxattr(real, XattrNTFSACL, buf)
	if err != nil || err2 != nil || !bytes.Equal(sd, buf[:n]) {
		t.Errorf("%s: security descriptor of %d bytes (%v), ntfs-3g %d (%v)", p, len(sd), err, n, err2)
	}
}

func compareContent(t *testing.T, v *Volume, p, stream, real string) {
	t.Helper()
	f, err := v.OpenStream(p, stream)
	if err != nil {
		t.Errorf("%s:%s: %v", p, stream, err)
		return
	}
	ours, err := sha(f, f.Size())
	if err != nil {
		t.Errorf("%s:%s: %v", p, stream, err)
		return
	}
	var theirs string
	if stream == "" {
		g, err := os.Open(real)
		if err != nil {
			t.Errorf("%s: %v", real, err)
			return
		}
		defer g.Close()
		st, _ := g.Stat()
		theirs, err = sha(g, st.Size())
		if err != nil {
			t.Errorf("%s: %v", real, err)
		}
	} else {
		val := getxattr(t, real, "user."+stream)
		theirs, _ = sha(bytes.NewReader(val), int64(len(val)))
	}
	if ours != theirs {
		t.Errorf("%s:%s: content differs from ntfs-3g", p, stream)
	}
}

func compareStreams(t *testing.T, v *Volume, p string, rec *FileRecordInfo, real string) {
	t.Helper()
	var theirs []string
	buf := make([]byte, 64<<10)
	n, err := syscall.Listxattr(real, buf)
	if err != nil {
		t.Errorf("%s: listxattr: %v", p, err)
		return
	}
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if s, ok := strings.CutPrefix(name, "user."); ok {
			theirs = append(theirs, s)
		}
	}
	sort.Strings(theirs)
	var ours []string
	for _, s := range rec.Streams {
		ours = append(ours, s.Name)
		compareContent(t, v, p, s.Name, real)
	}
	if strings.Join(ours, "|") != strings.Join(theirs, "|") {
		t.Errorf("%s: streams %q, ntfs-3g %q", p, ours, theirs)
	}
}

func getxattr(t *testing.T, path, name string) []byte {
	buf := make([]byte, 128<<10)
	n, err := syscall.Getxattr(path, name, buf)
	if err != nil {
		t.Errorf("%s: getxattr %s: %v", path, name, err)
		return nil
	}
	return buf[:n]
}
