package testutil

import (
	"compress/bzip2"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// UnpackSample decompresses samples/<name> (.gz, .bz2 or plain) into a
// temporary folder and returns the path of the image, named without the
// compression suffix. Skips or fails like Samples when they are missing.
func UnpackSample(t testing.TB, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(Samples(t), name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	switch {
	case strings.HasSuffix(name, ".gz"):
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case strings.HasSuffix(name, ".bz2"):
		r = bzip2.NewReader(f)
	}
	base := strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".bz2")
	dst := filepath.Join(t.TempDir(), filepath.Base(base))
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, r); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}
