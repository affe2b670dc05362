package ntfs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// imageDir is where gen.sh puts the volumes (git-ignored).
func imageDir() string { return filepath.Join(testutil.RepoRoot(), "testdata", "out", "ntfs") }

// image returns the path of a generated volume ("small", "tiny", "big"),
// running testdata/ntfs/gen.sh when it is missing (testutil.NTFSImage:
// one build even when several packages' tests want it at once). big is
// never built here (it takes minutes): its benchmarks skip without it.
func image(t testing.TB, which string) string {
	t.Helper()
	if which == "big" {
		p := filepath.Join(imageDir(), "big.img")
		if _, err := os.Stat(p); err != nil {
			t.Skip("big.img not built: run testdata/ntfs/gen.sh '' big")
		}
		return p
	}
	return testutil.NTFSImage(t, which)
}

// openImage opens a generated volume for the test.
func openImage(t testing.TB, which string) *Volume {
	t.Helper()
	v, err := Open(image(t, which))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// sha reads r fully in 1 MiB requests and returns its SHA-256.
func sha(r io.ReaderAt, size int64) (string, error) {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; {
		n, err := r.ReadAt(buf, off)
		h.Write(buf[:n])
		off += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// walkAll visits every entry of v, stats it and reads all its data and
// streams, returning the first error. Unsupported files are expected.
func walkAll(v *Volume) error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil && !errors.Is(err, ErrUnsupported) {
			first = err
		}
	}
	err := fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			keep(err)
			return nil
		}
		info, err := d.Info()
		if err != nil {
			keep(err)
			return nil
		}
		if d.IsDir() {
			return nil
		}
		f, err := v.OpenFile(p)
		if err != nil {
			keep(err)
			return nil
		}
		_, err = sha(f, f.Size())
		keep(err)
		for _, s := range info.Sys().(*FileRecordInfo).Streams {
			sf, err := v.OpenStream(p, s.Name)
			if err != nil {
				keep(err)
				continue
			}
			_, err = sha(sf, sf.Size())
			keep(err)
		}
		return nil
	})
	keep(err)
	return first
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
