//go:build linux

package ext

import (
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// kernelMount attaches img to a read-only loop device and mounts it
// read-only in a temp folder; both are undone at cleanup.
func kernelMount(t testing.TB, img string) string {
	t.Helper()
	dev := strings.TrimSpace(string(testutil.Run(t, "losetup", "-r", "-f", "--show", img)))
	t.Cleanup(func() { _ = exec.Command("losetup", "-d", dev).Run() })
	mnt := t.TempDir()
	if b, err := exec.Command("mount", "-o", "ro", dev, mnt).CombinedOutput(); err != nil {
		testutil.Unavailable(t, "the kernel cannot mount "+img+": "+strings.TrimSpace(string(b)))
	}
	t.Cleanup(func() {
		if b, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", mnt, err, b)
		}
	})
	return mnt
}

// openImage opens an image file with this package.
func openImage(t testing.TB, img string) *FS {
	t.Helper()
	v, err := Open(img)
	if err != nil {
		t.Fatalf("Open %s: %v", img, err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// variants are the images of testdata/ext/gen.sh.
var variants = []string{"ext4", "ext4-inline", "ext3", "ext2", "ext2-small", "ext4-rhel7", "ext4-bigalloc"}

// TestKernel compares every path of each variant with the kernel's
// read-only loop mount of the same image: names, types, modes, owners,
// sizes, link counts, inode numbers, times in nanoseconds, link targets,
// device numbers, extended attributes (ACLs included) and file hashes.
func TestKernel(t *testing.T) {
	for _, variant := range variants {
		t.Run(variant, func(t *testing.T) {
			img := testutil.ExtImage(t, variant)
			mnt := kernelMount(t, img)
			v := openImage(t, img)
			if v.NeedsRecovery() {
				t.Error("a cleanly unmounted image needs recovery")
			}
			n := testutil.CompareWithKernel(t, v, mnt)
			t.Logf("%s: %d paths compared", variant, n)
			if n < 3300 {
				t.Errorf("only %d paths", n)
			}
		})
	}
}

// TestFSTest runs testing/fstest over every variant: listings, stats,
// opens and reads agree with one another. links/ holds dangling links,
// which Open cannot follow: fstest sees every other folder.
func TestFSTest(t *testing.T) {
	for _, variant := range variants {
		t.Run(variant, func(t *testing.T) {
			v := openImage(t, testutil.ExtImage(t, variant))
			for dir, want := range map[string]string{"small": "f1", "hashed": "entry-with-a-longer-name-number-2999",
				"holes": "entry-600", "deep": "a/b/c/d/e/f/leaf", "symlink-dir": "entry-with-a-longer-name-number-1"} {
				sub, err := fs.Sub(v, dir)
				if err != nil {
					t.Fatal(err)
				}
				if err := fstest.TestFS(sub, want); err != nil {
					t.Errorf("%s: %v", dir, err)
				}
			}
		})
	}
}

// TestUnwritten checks that preallocated ranges read as zeros and are
// mapped as unwritten, and holes as sparse.
func TestUnwritten(t *testing.T) {
	v := openImage(t, testutil.ExtImage(t, "ext4"))
	b, err := os.ReadFile(testutil.ExtImage(t, "ext4")) // for the extents' bytes on disk
	if err != nil {
		t.Fatal(err)
	}
	f, err := v.Open("prealloc")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	exts, exact, err := f.(*File).Extents()
	if err != nil || !exact || len(exts) == 0 {
		t.Fatalf("extents %v exact %v: %v", exts, exact, err)
	}
	for _, e := range exts {
		if !e.Unwritten || e.Sparse {
			t.Errorf("prealloc extent %+v is not unwritten", e)
		}
		_ = b[e.VolOff : e.VolOff+e.Len] // inside the image
	}
	data, err := v.readAll("prealloc")
	if err != nil || len(data) != 1<<20 || strings.Trim(string(data), "\x00") != "" {
		t.Errorf("prealloc reads %d bytes (%v), not all zeros", len(data), err)
	}
	sf, err := v.Open("sparse")
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	exts, _, err = sf.(*File).Extents()
	if err != nil {
		t.Fatal(err)
	}
	var data4, sparse int64
	for _, e := range exts {
		if e.Sparse {
			sparse += e.Len
		} else {
			data4 += e.Len
		}
	}
	if data4 != 4*4096 || data4+sparse != 64<<20 {
		t.Errorf("sparse: %d bytes of data, %d of holes", data4, sparse)
	}
}

// readAll reads a whole file.
func (v *FS) readAll(name string) ([]byte, error) {
	f, err := v.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, _ := f.Stat()
	b := make([]byte, fi.Size())
	_, err = f.(*File).ReadAt(b, 0)
	return b, err
}

// TestHtreeLookup looks every name of the hashed folder up through its
// index, in a fresh FS each time (no cached listing), and checks it finds
// the entry the listing has; names that are not there are not found.
func TestHtreeLookup(t *testing.T) {
	for _, variant := range variants {
		t.Run(variant, func(t *testing.T) {
			v := openImage(t, testutil.ExtImage(t, variant))
			dir, err := v.walk("lookup", "hashed", true)
			if err != nil {
				t.Fatal(err)
			}
			if dir.flags()&flagIndex == 0 {
				t.Fatal("hashed/ has no htree index")
			}
			c, err := v.contentOf(dir, dir.size())
			if err != nil {
				t.Fatal(err)
			}
			ents, err := v.readDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			missed := 0
			for _, want := range ents {
				e, found, usable := v.htreeLookup(dir, c, want.name)
				if !usable || !found || e.ino != want.ino {
					if missed++; missed <= 5 {
						t.Errorf("%s: %+v found %v usable %v, want inode %d", want.name, e, found, usable, want.ino)
					}
				}
			}
			for _, name := range []string{"nope", "entry-with-a-longer-name-number-3001", "Entry-with-a-longer-name-number-1", "\xff\xfe"} {
				if _, found, _ := v.htreeLookup(dir, c, name); found {
					t.Errorf("%q found", name)
				}
			}
			if missed > 0 {
				t.Errorf("%d of %d names missed", missed, len(ents))
			}
		})
	}
}
