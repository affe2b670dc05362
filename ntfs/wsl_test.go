//go:build linux

package ntfs

import (
	"bytes"
	"encoding/binary"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// wslImage builds the volume of testdata/ntfs/wsl.sh in a temporary
// directory and returns it with an ntfs-3g mount of it, the oracle.
func wslImage(t *testing.T) (*Volume, string) {
	t.Helper()
	for _, tool := range []string{"mkntfs", "ntfs-3g", "setfattr", "python3"} {
		testutil.NeedTool(t, tool)
	}
	testutil.NeedFUSE(t)
	img := filepath.Join(t.TempDir(), "wsl.img")
	script := filepath.Join(testutil.RepoRoot(), "testdata", "ntfs", "wsl.sh")
	if out, err := exec.Command("bash", script, img).CombinedOutput(); err != nil {
		t.Fatalf("wsl.sh: %v\n%s", err, out)
	}
	mnt := t.TempDir()
	if out, err := exec.Command("ntfs-3g", "-o", "ro", img, mnt).CombinedOutput(); err != nil {
		t.Fatalf("ntfs-3g: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("fusermount", "-u", mnt).Run() })
	v, err := Open(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v, mnt
}

// TestWSL compares the WSL special files and symlinks with what ntfs-3g
// shows, and the WSL owner and mode with the extended attributes written.
func TestWSL(t *testing.T) {
	v, mnt := wslImage(t)
	types := map[string]fs.FileMode{
		"fifo": fs.ModeNamedPipe, "sock": fs.ModeSocket, "chr": fs.ModeDevice | fs.ModeCharDevice,
		"blk": fs.ModeDevice, "rel-link": fs.ModeSymlink, "abs-link": fs.ModeSymlink,
		"up-link": fs.ModeSymlink, "dir/up-link": fs.ModeSymlink, "utf8-link": fs.ModeSymlink,
		"target.txt": 0, "owned.txt": 0, "owned-dir": fs.ModeDir, "alias.exe": 0, "other-tag": 0,
	}
	right := 0
	for p, want := range types {
		info, err := v.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if got := info.Mode().Type(); got != want {
			t.Errorf("%s: type %v, want %v", p, got, want)
			continue
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(mnt, p), &st); err != nil {
			t.Errorf("%s: ntfs-3g: %v", p, err)
			continue
		}
		rec := info.Sys().(*FileRecordInfo)
		switch {
		case want == fs.ModeSymlink:
			ours, err := v.ReadLink(p)
			theirs, err2 := os.Readlink(filepath.Join(mnt, p))
			if err != nil || err2 != nil || ours != theirs {
				t.Errorf("%s: target %q (%v), ntfs-3g %q (%v)", p, ours, err, theirs, err2)
				continue
			}
		case want&fs.ModeDevice != 0:
			major, minor, ok := rec.DeviceNumber()
			if !ok || uint64(major) != uint64(st.Rdev>>8&0xfff) || uint64(minor) != uint64(st.Rdev&0xff) {
				t.Errorf("%s: device %d,%d (%v), ntfs-3g %#x", p, major, minor, ok, st.Rdev)
				continue
			}
		case want == 0 && p != "alias.exe" && p != "other-tag":
			if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
				t.Errorf("%s: ntfs-3g mode %o", p, st.Mode)
			}
		}
		if want&(fs.ModeNamedPipe|fs.ModeSocket|fs.ModeDevice) != 0 && uint32(fs.FileMode(st.Mode&syscall.S_IFMT)) == 0 {
			t.Errorf("%s: ntfs-3g shows no type", p)
		}
		right++
	}
	t.Logf("WSL entries right: %d of %d", right, len(types))

	// Owner and mode from $LXUID, $LXGID, $LXMOD as wsl.sh wrote them.
	for p, want := range map[string][3]uint32{"owned.txt": {0o640, 1000, 1001}, "owned-dir": {0o2750, 0, 27}} {
		info, err := v.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		rec := info.Sys().(*FileRecordInfo)
		perm, uid, gid := rec.POSIXAttributes()
		if [3]uint32{perm, uid, gid} != want {
			t.Errorf("%s: perm %o uid %d gid %d, want %o %d %d", p, perm, uid, gid, want[0], want[1], want[2])
		}
		if p == "owned-dir" && info.Mode() != fs.ModeDir|fs.ModeSetgid|0o750 {
			t.Errorf("%s: mode %v", p, info.Mode())
		}
		raw := getxattr(t, filepath.Join(mnt, p), "system.ntfs_ea")
		if got := parseEAs(raw); !bytes.Equal(got["$LXUID"], rec.EAs["$LXUID"]) || len(got) != len(rec.EAs) {
			t.Errorf("%s: EAs %q, ntfs-3g's system.ntfs_ea %q", p, rec.EAs, got)
		}
	}

	// Other tags: the file's own data, and the reparse point as an xattr.
	for p, data := range map[string]string{"alias.exe": "alias data", "other-tag": "other data"} {
		f, err := v.OpenFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
		if err != nil || string(got) != data {
			t.Errorf("%s: data %q, %v", p, got, err)
		}
		xa, err := f.Info().Xattrs()
		if err != nil {
			t.Fatal(err)
		}
		if r := xa[XattrReparse]; len(r) < 8 || binary.LittleEndian.Uint32(r)&0xFFFF0000 != 0x80000000 {
			t.Errorf("%s: %s = %x", p, XattrReparse, r)
		}
	}
	if xa, _ := mustInfo(t, v, "rel-link").Xattrs(); xa[XattrReparse] != nil {
		t.Error("a WSL symlink's reparse point is shown as an xattr")
	}
	if !strings.HasPrefix(mustInfo(t, v, "abs-link").Reparse.Target(), "/") {
		t.Error("absolute WSL target lost its slash")
	}
}

func mustInfo(t *testing.T, v *Volume, p string) *FileRecordInfo {
	t.Helper()
	info, err := v.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return info.Sys().(*FileRecordInfo)
}

func FuzzEAs(f *testing.F) {
	f.Add([]byte("\x14\x00\x00\x00\x00\x06\x04\x00$LXMOD\x00\xa4\x11\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lxFromEAs(parseEAs(b))
		r := &Reparse{Tag: TagLXSymlink, Data: b}
		_ = parseLXSymlink(r, 0)
		OwnerSID(b)
	})
}

func TestOwnerSID(t *testing.T) {
	// A self-relative descriptor whose owner is S-1-5-21-1-2-3-1001.
	sd := make([]byte, 20)
	sd[0] = 1
	binary.LittleEndian.PutUint32(sd[4:], 20)
	sid := []byte{1, 5, 0, 0, 0, 0, 0, 5}
	for _, v := range []uint32{21, 1, 2, 3, 1001} {
		sid = binary.LittleEndian.AppendUint32(sid, v)
	}
	sd = append(sd, sid...)
	if got := OwnerSID(sd); got != "S-1-5-21-1-2-3-1001" {
		t.Errorf("OwnerSID = %q", got)
	}
	for _, bad := range [][]byte{nil, sd[:20], sd[:30], append(bytes.Clone(sd[:20]), 1, 200, 0, 0, 0, 0, 0, 5)} {
		if got := OwnerSID(bad); got != "" {
			t.Errorf("OwnerSID(% x) = %q", bad, got)
		}
	}
}
