//go:build linux

package main

import (
	"bytes"
	"errors"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

// TestRemoteMountFaults mounts a disk served by nginx, in the mount(8)
// helper form an fstab line uses (`ckptfs URL MNT -o remote-timeout=1s`),
// and reads its raw image while the server fails: a 503 storm, a server
// slower than the timeout, the server stopped, the file replaced. Each
// failing read ends in EIO within the retries' bound, the mount stays up,
// and once the server is well again the same bytes read right, never a
// mix of two versions. Each phase reads its own region of the disk, 64
// MiB beyond the read-ahead of the others, so that nothing comes from a
// cache.
func TestRemoteMountFaults(t *testing.T) {
	testutil.NeedFUSE(t)
	root, flags := t.TempDir(), t.TempDir()
	const size, gap, region = 1 << 30, 128 << 20, 2 << 20
	data := make([]byte, 8*region)
	rand.New(rand.NewSource(3)).Read(data)
	// img returns the disk's bytes at [off, off+n) of one region.
	img := func(off, n int64) []byte {
		r := off / gap
		return data[r*region+off%gap : r*region+off%gap+n]
	}
	disk := filepath.Join(root, "d.vhdx")
	write := func(path string, xor byte) {
		w, err := vhdx.Create(path, vhdx.CreateOptions{VirtualSize: size, BlockSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		for r := int64(0); r < 8; r++ {
			p := append([]byte(nil), img(r*gap, region)...)
			for i := range p {
				p[i] ^= xor
			}
			if _, err := w.WriteAt(p, r*gap); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write(disk, 0)
	// A flag file turns a fault on: nginx checks it on every request.
	srv := testutil.Nginx(t, root, `location / {
		if (-f `+flags+`/fail) { return 503; }
		if (-f `+flags+`/slow) { set $limit_rate 2k; }
	}`)
	flag := func(name string, on bool) {
		if on {
			os.WriteFile(filepath.Join(flags, name), nil, 0o644)
		} else {
			os.Remove(filepath.Join(flags, name))
		}
	}

	bin := ckptfsBinary(t)
	mnt := t.TempDir()
	src := "http://127.0.0.1:" + strconv.Itoa(srv.Port) + "/d.vhdx"
	if out, err := exec.Command(bin, src, mnt, "-o", "ro,nosuid,remote-timeout=1s").CombinedOutput(); err != nil {
		t.Fatalf("helper form with a URL: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("fusermount3", "-u", mnt).Run() })
	raw := filepath.Join(mnt, "checkpoints", "Now", "disks", "Disk0.raw")
	f, err := os.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// read reads 4 KiB of region r.
	read := func(r int64) (time.Duration, error) {
		off := r*gap + 4096
		p := make([]byte, 4096)
		start := time.Now()
		_, err := f.ReadAt(p, off)
		if err == nil && !bytes.Equal(p, img(off, 4096)) {
			err = errors.New("wrong bytes")
		}
		return time.Since(start), err
	}
	// The bound of one failing read: 5 tries of at most 1 s each and the
	// backoff between them, plus the kernel's own retry of a failed
	// read-ahead page and slack for a loaded machine.
	const bound = 20 * time.Second
	fails := func(what string, off int64) {
		t.Helper()
		d, err := read(off)
		if !errors.Is(err, syscall.EIO) {
			t.Errorf("%s: %v, want EIO", what, err)
		}
		if d > bound {
			t.Errorf("%s: the read took %v", what, d)
		}
		t.Logf("%s: %v after %v", what, err, d.Round(time.Millisecond))
		if _, err := os.Stat(filepath.Join(mnt, "latest")); err != nil {
			t.Fatalf("%s: the mount is gone: %v", what, err)
		}
	}
	works := func(what string, off int64) {
		t.Helper()
		if _, err := read(off); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}

	works("before any fault", 0)

	flag("fail", true)
	fails("503 storm", 1)
	flag("fail", false)
	works("after the 503 storm", 1)

	flag("slow", true)
	fails("slower than the timeout", 2)
	flag("slow", false)
	works("after the slow server", 2)

	srv.Stop()
	fails("server stopped", 3)
	srv.Restart(t)
	works("server back", 3)

	// Replaced: same layout, other bytes, another ETag (nginx's is mtime
	// and size).
	write(disk+".new", 0x5a)
	future := time.Now().Add(time.Hour)
	os.Chtimes(disk+".new", future, future)
	if err := os.Rename(disk+".new", disk); err != nil {
		t.Fatal(err)
	}
	fails("file replaced", 4)
	fails("file replaced, read again", 5)
	works("what was read before the replacement", 0)
}
