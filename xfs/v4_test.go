//go:build linux

package xfs

import (
	"bytes"
	"crypto/sha256"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestV4Protofile reads the v4 image (512-byte blocks, no file types in
// directory entries), which this kernel may not mount: mkfs.xfs copied it
// from a tree populate.sh builds, so the same tree built again is the
// oracle for names, content, modes, owners and link targets, and xfs_db
// for inode numbers, link counts and times.
func TestV4Protofile(t *testing.T) {
	img := fixture(t, "v4")
	v := openFixture(t, img)
	if v.Version() != 4 || v.BlockSize() != 512 {
		t.Fatalf("version %d, block size %d", v.Version(), v.BlockSize())
	}
	src := t.TempDir()
	if b, err := exec.Command("bash", filepath.Join(testutil.RepoRoot(), "testdata", "xfs", "populate.sh"), src, "small").CombinedOutput(); err != nil {
		t.Fatalf("populate.sh: %v\n%s", err, b)
	}
	count := 0
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return nil
		}
		count++
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		fi, err := v.Lstat(rel)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		perm, uid, gid := fi.Sys().(sysInfo).POSIXAttributes()
		if perm&0o6777 != st.Mode&0o6777 || uid != st.Uid || gid != st.Gid || fileTypeBits(fi.Mode()) != st.Mode&syscall.S_IFMT {
			t.Errorf("%s: mode %o %d:%d, source %o %d:%d", rel, perm, uid, gid, st.Mode, st.Uid, st.Gid)
		}
		switch {
		case d.Type().IsRegular():
			want, _ := os.ReadFile(p)
			f, err := v.Open(rel)
			if err != nil {
				t.Errorf("%s: %v", rel, err)
				return nil
			}
			got, err := io.ReadAll(f.(io.Reader))
			if err != nil || sha256.Sum256(got) != sha256.Sum256(want) {
				t.Errorf("%s: content differs (%d bytes, source %d, %v)", rel, len(got), len(want), err)
			}
		case d.Type()&fs.ModeSymlink != 0:
			want, _ := os.Readlink(p)
			if got, err := v.ReadLink(rel); err != nil || got != want {
				t.Errorf("%s: link %q (%v), source %q", rel, got, err, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count < 400 {
		t.Errorf("only %d paths", count)
	}
	for _, p := range []string{"hello.txt", "sf", "sf/f2", "symlink", "leaf/leaf-entry-name-number-77", "manyext", "chardev"} {
		want := xfsDB(t, img, p)
		fi, err := v.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		s := fi.Sys().(sysInfo)
		got := map[string]int64{"ino": int64(s.FileID()), "nlink": int64(s.LinkCount()), "size": fi.Size(),
			"mtime.nsec": int64(fi.ModTime().Nanosecond()),
			"ctime.nsec": int64(s.ChangeTime().Nanosecond())}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: %s %d, xfs_db %d", p, k, got[k], w)
			}
		}
	}
}

var dbLine = regexp.MustCompile(`(?m)^(?:current inode number is (\d+)|core\.(\w+(?:\.\w+)?) = (.*))$`)

// xfsDB asks xfs_db for an inode's number, link count, size and the
// nanoseconds of its times (the seconds it prints as local dates).
func xfsDB(t *testing.T, img, p string) map[string]int64 {
	testutil.NeedTool(t, "xfs_db")
	out := testutil.Run(t, "xfs_db", "-r", "-c", "path /"+p, "-c", "inode", "-c",
		"p core.nlinkv2 core.size core.mtime.nsec core.ctime.nsec", img)
	m := map[string]int64{}
	for _, g := range dbLine.FindAllStringSubmatch(string(out), -1) {
		if g[1] != "" {
			m["ino"], _ = strconv.ParseInt(g[1], 10, 64)
			continue
		}
		key := strings.ReplaceAll(g[2], "nlinkv2", "nlink")
		key = strings.TrimSuffix(key, ".sec")
		n, err := strconv.ParseInt(strings.TrimSpace(g[3]), 10, 64)
		if err == nil {
			m[key] = n
		}
	}
	if len(m) < 5 {
		t.Fatalf("xfs_db %s: %s", p, bytes.TrimSpace(out))
	}
	return m
}
