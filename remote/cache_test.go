package remote

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestDiskCache: with a cache folder, a second process (here: a cold
// memory cache) reads blocks already read from disk, with no request but
// the stat; and the folder stays within its bound.
func TestDiskCache(t *testing.T) {
	root := t.TempDir()
	data := make([]byte, 6<<20+123)
	for i := range data {
		data[i] = byte(i * 13)
	}
	os.WriteFile(filepath.Join(root, "d.bin"), data, 0o644)
	srv := testutil.Nginx(t, root, "")
	cache := t.TempDir()
	o := testOptions()
	o.CacheDir, o.CacheSize = cache, 4<<20+200
	read := func() (int64, []byte) {
		Configure(o)
		name, s, err := Resolve("http://127.0.0.1:" + itoa(srv.Port) + "/d.bin")
		if err != nil {
			t.Fatal(err)
		}
		before := Counters().Requests
		f, err := s.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		p := make([]byte, 3<<20)
		if _, err := f.ReadAt(p, 3<<20+123); err != nil {
			t.Fatal(err)
		}
		return Counters().Requests - before, p
	}
	n1, p1 := read()
	n2, p2 := read()
	if !bytes.Equal(p1, data[3<<20+123:]) || !bytes.Equal(p2, p1) {
		t.Fatal("wrong bytes")
	}
	if n1 < 4 || n2 != 1 {
		t.Errorf("%d requests cold, %d with the disk cache (want the stat only)", n1, n2)
	}
	var total int64
	filepath.Walk(cache, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			total += fi.Size()
		}
		return nil
	})
	if total > o.CacheSize {
		t.Errorf("cache holds %d bytes, bound %d", total, o.CacheSize)
	}
}
