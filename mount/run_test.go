//go:build linux

package mount

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
	"golang.org/x/sys/unix"
)

const mib = 1 << 20

// makeChain builds src/base.vhdx with qemu-img and qemu-io (40 MiB, 0x11 in the
// first MiB) and src/child.avhdx over it (0x22 in the second MiB), and
// returns the folder and the base's content as qemu reads it.
func makeChain(t *testing.T) (src string, baseRaw []byte) {
	t.Helper()
	testutil.NeedTool(t, "qemu-img")
	testutil.NeedTool(t, "qemu-io")
	src = t.TempDir()
	base := filepath.Join(src, "base.vhdx")
	testutil.Run(t, "qemu-img", "create", "-q", "-f", "vhdx", base, "40M")
	testutil.Run(t, "qemu-io", "-f", "vhdx", "-c", "write -P 0x11 0 1M", base)
	rawPath := filepath.Join(t.TempDir(), "base.raw")
	testutil.Run(t, "qemu-img", "convert", "-f", "vhdx", "-O", "raw", base, rawPath)
	baseRaw, err := os.ReadFile(rawPath)
	if err != nil {
		t.Fatal(err)
	}
	parent, err := vhdx.OpenDisk(base)
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	w, err := vhdx.Create(filepath.Join(src, "child.avhdx"), vhdx.CreateOptions{Parent: parent, ParentPath: base})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt(bytes.Repeat([]byte{0x22}, mib), mib); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return src, baseRaw
}

func openCatalog(t *testing.T, src string) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Open(src, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return cat
}

// startRun is the one way these tests mount: Run in a goroutine over a
// temporary mount point, returned once Ready fires. Files of the mount are
// read only with plain syscalls from the test goroutine.
func startRun(t *testing.T, cat *catalog.Catalog) (mnt string, cancel context.CancelFunc, errc chan error) {
	t.Helper()
	return startRunWith(t, cat, Options{})
}

// startRunWith is startRun with options (Ready is set here).
func startRunWith(t *testing.T, cat *catalog.Catalog, opt Options) (mnt string, cancel context.CancelFunc, errc chan error) {
	t.Helper()
	testutil.NeedFUSE(t)
	mnt = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	errc = make(chan error, 1)
	ready := make(chan struct{})
	opt.Ready = func() { close(ready) }
	go func() { errc <- Run(ctx, cat, mnt, opt) }()
	select {
	case <-ready:
	case err := <-errc:
		cancel()
		testutil.Unavailable(t, "cannot mount FUSE here: "+err.Error())
	}
	t.Cleanup(func() {
		cancel()
		if mounted(t, mnt) {
			testutil.Run(t, "fusermount3", "-u", "-z", mnt)
		}
	})
	return mnt, cancel, errc
}

// mounted reports whether mountinfo lists a ckptfs mount at mnt, and
// checks how it is listed.
func mounted(t *testing.T, mnt string) bool {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 9 && fields[4] == mnt {
			i := slices.Index(fields, "-")
			if i < 0 || i+1 >= len(fields) || fields[i+1] != "fuse.ckptfs" {
				t.Errorf("mountinfo: %s", sc.Text())
			}
			return true
		}
	}
	return false
}

func TestRunServesChainUntilCancelled(t *testing.T) {
	src, baseRaw := makeChain(t)
	cat := openCatalog(t, src)
	mnt, cancel, errc := startRun(t, cat)
	if !mounted(t, mnt) {
		t.Fatal("not in mountinfo after Ready")
	}
	ents, err := os.ReadDir(filepath.Join(mnt, "checkpoints"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	t.Logf("checkpoints: %q", names)
	if !slices.Contains(names, "base") || !slices.Contains(names, "child") {
		t.Fatalf("checkpoints = %q", names)
	}
	got, err := os.ReadFile(rawPathOf(t, mnt, "base"))
	if err != nil || !bytes.Equal(got, baseRaw) {
		t.Errorf("base.raw differs from qemu-img convert (%d bytes, %v)", len(got), err)
	}
	want := slices.Clone(baseRaw)
	copy(want[mib:], bytes.Repeat([]byte{0x22}, mib))
	childRaw := rawPathOf(t, mnt, "child")
	if got, err := os.ReadFile(childRaw); err != nil || !bytes.Equal(got, want) {
		t.Errorf("child raw differs (%d bytes, %v)", len(got), err)
	}
	checkSeek(t, childRaw, chainOf(t, cat, "child"))
	checkReadAhead(t, mnt, defaultReadAheadKB)
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	if mounted(t, mnt) {
		t.Error("still mounted after Run returned")
	}
}

// rawPathOf finds the one raw image of a checkpoint.
func rawPathOf(t *testing.T, mnt, ckpt string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(mnt, "checkpoints", ckpt, "disks", "*.raw"))
	if err != nil || len(m) != 1 {
		t.Fatalf("raw images of %s: %q %v", ckpt, m, err)
	}
	return m[0]
}

func chainOf(t *testing.T, cat *catalog.Catalog, ckpt string) *vhdx.Chain {
	t.Helper()
	for _, c := range cat.VMs[0].Checkpoints {
		if c.Name == ckpt {
			return c.Disks[0].Chain
		}
	}
	t.Fatalf("no checkpoint %s", ckpt)
	return nil
}

// checkSeek compares SEEK_DATA and SEEK_HOLE through the mount with the
// chain's extents.
func checkSeek(t *testing.T, p string, chain *vhdx.Chain) {
	t.Helper()
	exts, err := chain.Extents(0, chain.Size())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d extents: %+v", len(exts), exts)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, e := range exts {
		data := e.Kind == vhdx.ExtentData
		// From the start of an extent, seeking for its own kind stays put.
		whence := 4 // SEEK_HOLE
		if data {
			whence = 3 // SEEK_DATA
		}
		if pos, err := syscall.Seek(int(f.Fd()), e.Off, whence); err != nil || pos != e.Off {
			t.Errorf("lseek(%d, %d) = %d, %v; extent %+v", e.Off, whence, pos, err, e)
		}
	}
	if _, err := syscall.Seek(int(f.Fd()), chain.Size(), 3); err != syscall.ENXIO {
		t.Errorf("SEEK_DATA at the end: %v, want ENXIO", err)
	}
}

func TestRunEndsOnExternalUnmount(t *testing.T) {
	src, _ := makeChain(t)
	mnt, _, errc := startRun(t, openCatalog(t, src))
	// fusermount3 lives outside the mount and gets no file of it, so
	// running it from the serving process cannot deadlock.
	testutil.Run(t, "fusermount3", "-u", mnt)
	if err := <-errc; err != nil {
		t.Errorf("Run after fusermount3 -u: %v", err)
	}
}

func TestRunRefusesMountInsideSource(t *testing.T) {
	src := t.TempDir()
	inner := filepath.Join(src, "mnt")
	if err := os.Mkdir(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(inner, link); err != nil {
		t.Fatal(err)
	}
	cat := &catalog.Catalog{Source: src}
	for _, mnt := range []string{inner, src, link} {
		if err := Run(context.Background(), cat, mnt, Options{}); !errors.Is(err, ErrInsideSource) {
			t.Errorf("Run at %s: %v, want ErrInsideSource", mnt, err)
		}
	}
	if err := Run(context.Background(), cat, filepath.Join(src, "missing"), Options{}); err == nil {
		t.Error("missing mount point accepted")
	}
}

func TestRunRefusesLockedChain(t *testing.T) {
	src, _ := makeChain(t)
	cat := openCatalog(t, src)
	lockExclusive(t, filepath.Join(src, "child.avhdx"))
	if err := Run(context.Background(), cat, t.TempDir(), Options{}); !errors.Is(err, ErrLocked) {
		t.Errorf("Run with a merge holding the child: %v, want ErrLocked", err)
	}
}

// checkReadAhead verifies the kernel's read-ahead window of the mount
// (root may set it; Run leaves it alone for anyone else).
func checkReadAhead(t *testing.T, mnt string, kb int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Log("not root: the read-ahead window stays the kernel's")
		return
	}
	var st unix.Stat_t
	if err := unix.Stat(mnt, &st); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev)))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != strconv.Itoa(kb) {
		t.Errorf("read_ahead_kb = %s, want %d", got, kb)
	}
}
