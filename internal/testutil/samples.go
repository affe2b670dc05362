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

// UntarSample extracts member from the tar archive samples/<name> (gzip
// compressed) into a temporary folder, keeping holes (the Volume Shadow
// Copy samples are sparse disks of 5 and 128 GiB holding a few MiB), and
// returns its path. With vhdx, the disk is also wrapped as a dynamic VHDX
// next to it (qemu-img; fast, as only the data is copied) and that path
// is returned instead; the raw disk stays beside it (for oracles that read
// raw images only), under the member's name.
func UntarSample(t testing.TB, name, member string, vhdx bool) string {
	t.Helper()
	NeedTool(t, "tar")
	src := filepath.Join(Samples(t), name)
	dir := t.TempDir()
	Run(t, "tar", "-xSzf", src, "-C", dir, member)
	p := filepath.Join(dir, member)
	if !vhdx {
		return p
	}
	NeedTool(t, "qemu-img")
	out := strings.TrimSuffix(p, filepath.Ext(p)) + ".vhdx"
	Run(t, "qemu-img", "convert", "-f", "raw", "-O", "vhdx", "-o", "subformat=dynamic", p, out)
	return out
}
