package vhdx

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// unpackSample decompresses ../shared/samples/<name> into a temp file.
func unpackSample(t testing.TB, name string) string {
	t.Helper()
	dir := testutil.Samples(t)
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	switch {
	case strings.HasSuffix(name, ".gz"):
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = gz
		name = strings.TrimSuffix(name, ".gz")
	case strings.HasSuffix(name, ".bz2"):
		r = bzip2.NewReader(f)
		name = strings.TrimSuffix(name, ".bz2")
	}
	out := filepath.Join(t.TempDir(), name)
	w, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, r); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out
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

var _ = exec.Command
