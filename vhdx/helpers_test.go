package vhdx

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// readAll reads a whole image in uneven pieces so unit edges are crossed.
func readAll(t testing.TB, img Image) []byte {
	t.Helper()
	out := make([]byte, img.Size())
	step := int64(777 * 1024)
	for off := int64(0); off < img.Size(); off += step {
		end := min(off+step, img.Size())
		if _, err := img.ReadAt(out[off:end], off); err != nil {
			t.Fatalf("ReadAt(%d, %d): %v", off, end-off, err)
		}
	}
	return out
}

// qemuRaw converts an image to raw with qemu-img and returns its bytes.
func qemuToRaw(t testing.TB, path, format string) []byte {
	t.Helper()
	testutil.NeedTool(t, "qemu-img")
	out := filepath.Join(t.TempDir(), "out.raw")
	testutil.Run(t, "qemu-img", "convert", "-f", format, "-O", "raw", path, out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// qemuIO runs qemu-io commands against an image.
func qemuIO(t testing.TB, path, format string, cmds ...string) {
	t.Helper()
	testutil.NeedTool(t, "qemu-io")
	args := []string{"-f", format}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	testutil.Run(t, "qemu-io", append(args, path)...)
}

func sha(b []byte) [32]byte { return sha256.Sum256(b) }

func fileSHA(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha(b)
}

// firstDiff reports where two byte slices differ, for readable failures.
func firstMismatch(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return n
	}
	return -1
}

func mustEqualBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d vs %d bytes, first difference at byte %d", what, len(got), len(want), firstMismatch(got, want))
	}
}
