//go:build linux

package fs

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/ckptfs/ckptfs/guest"
	"golang.org/x/sys/unix"
)

// getdents lists the folder at p with plain system calls, buf bytes a
// call, stopping after max entries (0: all); "." and ".." left out.
func getdents(p string, buf, max int) ([]string, error) {
	fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	var names []string
	b := make([]byte, buf)
	for {
		n, err := unix.Getdents(fd, b)
		if err != nil {
			return names, err
		}
		if n == 0 {
			return names, nil
		}
		_, _, got := unix.ParseDirent(b[:n], -1, nil)
		names = append(names, got...)
		if max > 0 && len(names) >= max {
			return names, nil
		}
	}
}

// TestMountListingsShared reads listings the way RawFS serves them
// without OPENDIR (one shared handle per folder, seeked for each reader):
// listings read in small pieces by several readers at once, a listing
// left half read then read again, each whole and in order, twice (the
// second time from the kernel's cache).
func TestMountListingsShared(t *testing.T) {
	m := fstest.MapFS{}
	var want []string
	for i := range 3000 {
		name := fmt.Sprintf("file-with-a-long-name-%05d.txt", i)
		m["many/"+name] = &fstest.MapFile{Data: []byte("x")}
		want = append(want, name)
	}
	m["few/a"] = &fstest.MapFile{Data: []byte("a")}
	tc := newTestCatalog()
	vols := func(disk io.ReaderAt, size int64, name string) ([]*guest.Volume, error) {
		return []*guest.Volume{{Name: name + "-p1", Number: 1, FSType: "ntfs", FS: m}}, nil
	}
	mnt, raw := mountTreeRaw(t, newRoot(tc.cat, tc.image, vols))
	vol := filepath.Join(mnt, "checkpoints", "Now", "Disk0-p1")

	// Half a listing, so the shared handle stays open at an offset.
	if got, err := getdents(filepath.Join(vol, "many"), 4096, 100); err != nil || len(got) < 100 {
		t.Fatalf("half listing: %d names, %v", len(got), err)
	}
	for pass := range 2 {
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for k := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := getdents(filepath.Join(vol, "many"), 1024+k*1024, 0)
				got = slices.DeleteFunc(got, func(s string) bool { return s == "." || s == ".." })
				if err != nil || !slices.Equal(got, want) {
					errs <- fmt.Errorf("pass %d, reader %d: %d names (want %d), %v", pass, k, len(got), len(want), err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	if got := raw.Requests(); got["OPENDIR"] > 1 || got["RELEASEDIR"] != 0 {
		t.Errorf("requests %v: want at most one OPENDIR (answered ENOSYS) and no RELEASEDIR", got)
	}
}
