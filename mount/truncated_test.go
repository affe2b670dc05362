//go:build linux

package mount

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/internal/directio"
	"golang.org/x/sys/unix"
)

// TestRunSurvivesTruncatedSource cuts a layer file short while it is
// mounted, as another program might: reads of the lost range fail with EIO
// (the kernel cannot copy from the mapping past the file's new end), never
// hang or bring the server down, and the rest of the tree still answers.
func TestRunSurvivesTruncatedSource(t *testing.T) {
	src, _ := makeChain(t)
	mnt, cancel, errc := startRun(t, openCatalog(t, src))
	raw := rawPathOf(t, mnt, "child")
	// O_DIRECT bypasses the mount's page cache, so every read reaches the
	// server.
	fd, err := unix.Open(raw, unix.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := directio.Buffer(mib)
	if _, err := unix.Pread(fd, buf, 0); err != nil {
		t.Fatalf("read before the truncation: %v", err)
	}
	if err := os.Truncate(filepath.Join(src, "base.vhdx"), 2*mib); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Pread(fd, buf, 0); !errors.Is(err, syscall.EIO) {
		t.Errorf("read of the base's lost first MiB: %v, want EIO", err)
	}
	n, err := unix.Pread(fd, buf, mib)
	if err != nil || n != mib || !bytes.Equal(buf, bytes.Repeat([]byte{0x22}, mib)) {
		t.Errorf("read of the child's own MiB after the base was cut: %d bytes, %v", n, err)
	}
	unix.Close(fd)
	if _, err := os.ReadDir(filepath.Join(mnt, "checkpoints")); err != nil {
		t.Errorf("listing after the failed read: %v", err)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
}
