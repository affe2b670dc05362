//go:build linux

package main

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

func hashFile(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// TestMountEndToEnd mounts the demo VM (an NTFS-in-GPT chain of three
// checkpoints) with the real binary and checks it against independent
// readers: every checkpoint's raw image hashes as libvhdi's vhdimount
// shows that checkpoint's file; every guest file lists and reads as
// sleuthkit's fls/icat see it in that image; cp -a keeps mtimes; the
// sources are only ever opened read-only and are unchanged afterwards.
func TestMountEndToEnd(t *testing.T) {
	src := demoVM(t)
	for _, tool := range []string{"vhdimount", "fls", "icat"} {
		testutil.NeedTool(t, tool)
	}
	disks, _ := filepath.Glob(filepath.Join(src, "Virtual Hard Disks", "*"))
	before := map[string]string{}
	for _, d := range disks {
		before[d] = hashFile(t, d)
	}
	m := startMount(t, nil, src)
	mnt := m.Dir

	for _, d := range disks {
		c, err := vhdx.OpenChain(d, vhdx.ChainOptions{})
		if err != nil {
			t.Fatal(err)
		}
		layers := len(c.Layers)
		c.Close()
		stem := strings.TrimSuffix(filepath.Base(d), filepath.Ext(d))
		cpDir := filepath.Join(mnt, "checkpoints", stem)
		raw := filepath.Join(cpDir, "disks", "Disk0.raw")
		ref := testutil.VhdiMount(t, d, layers)
		if got, want := hashFile(t, raw), hashFile(t, ref); got != want {
			t.Fatalf("%s: raw image differs from vhdimount's", stem)
		}
		compareWithSleuthkit(t, ref, filepath.Join(cpDir, "Disk0-p1"))
	}

	dest := t.TempDir()
	testutil.Run(t, "cp", "-a", filepath.Join(mnt, "checkpoints", "web01", "Disk0-p1", "Users"), dest)
	st, err := os.Stat(filepath.Join(dest, "Users", "alice", "Documents", "report.docx"))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.ModTime().UTC().Format(time.DateTime); got != "2026-11-20 10:00:00" {
		t.Errorf("cp -a kept mtime %s", got)
	}

	var sfs syscall.Statfs_t
	if err := syscall.Statfs(mnt, &sfs); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, d := range disks {
		st, _ := os.Stat(d)
		total += st.Size()
	}
	if got := int64(sfs.Blocks) * sfs.Bsize; got < total || got > total+int64(len(disks))*4096 || sfs.Bfree != 0 {
		t.Errorf("statfs: %d bytes (%d free), the disk files hold %d", got, sfs.Bfree, total)
	}

	checkReadOnlyFDs(t, m.cmd.Process.Pid, disks)
	m.Stop()
	for _, d := range disks {
		if hashFile(t, d) != before[d] {
			t.Errorf("%s changed", d)
		}
	}
}

// compareWithSleuthkit lists the NTFS partition (at sector 2048) of a raw
// image with fls and checks every regular file's size and content through
// the mounted volume directory.
func compareWithSleuthkit(t *testing.T, image, volDir string) {
	t.Helper()
	out := testutil.Run(t, "fls", "-o", "2048", "-r", "-p", "-u", image)
	files := 0
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		// "r/r 64-128-2:\tUsers/alice/notes.txt" (deleted entries have a '*')
		line := sc.Text()
		kind, rest, ok := strings.Cut(line, " ")
		if !ok || kind != "r/r" || strings.Contains(rest, "*") {
			continue
		}
		addr, name, _ := strings.Cut(rest, ":\t")
		if strings.HasPrefix(name, "$") || strings.Contains(name, "/$") || strings.Contains(name, ":") {
			continue // metadata files and named streams
		}
		inode := strings.SplitN(addr, "-", 2)[0]
		want := testutil.Run(t, "icat", "-o", "2048", image, inode)
		got, err := os.ReadFile(filepath.Join(volDir, name))
		if err != nil {
			t.Errorf("%s: listed by fls, not readable in the mount: %v", name, err)
			continue
		}
		if string(got) != string(want) {
			t.Errorf("%s: content differs from icat (%d vs %d bytes)", name, len(got), len(want))
		}
		files++
	}
	if files < 3 {
		t.Fatalf("fls listed only %d files in %s:\n%s", files, image, out)
	}
}

// checkReadOnlyFDs looks at every descriptor the mount process holds on a
// source file: each must be open O_RDONLY.
func checkReadOnlyFDs(t *testing.T, pid int, sources []string) {
	t.Helper()
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil {
			continue
		}
		for _, s := range sources {
			abs, _ := filepath.Abs(s)
			if target != abs {
				continue
			}
			seen++
			info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(string(info), "\n") {
				if v, ok := strings.CutPrefix(l, "flags:"); ok {
					flags, _ := strconv.ParseInt(strings.TrimSpace(v), 8, 64)
					if flags&3 != 0 {
						t.Errorf("%s is open with flags %o (not read-only)", s, flags)
					}
				}
			}
		}
	}
	if seen < len(sources) {
		t.Errorf("saw %d descriptors on the %d source files", seen, len(sources))
	}
}
