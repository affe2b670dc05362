package remote

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestDiskCache: with a cache folder, a second process (here: a cold
// memory cache) reads blocks already read from disk, with no request but
// the stat; and the folder stays within its bound.
func TestDiskCache(t *testing.T) {
	data := make([]byte, 6<<20+123)
	for i := range data {
		data[i] = byte(i * 13)
	}
	url := serveBytes(t, "d.bin", data)
	cache := t.TempDir()
	o := testOptions()
	o.CacheDir, o.CacheSize = cache, 4<<20+200
	read := func() (int64, []byte) {
		Configure(o)
		name, s, err := Resolve(url)
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
	if n1 < 2 || n2 != 1 {
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

// TestRuns: reads fetch what they need in runs, not whole large blocks:
// hinted scattered 4 KiB pieces (a child layer's sector runs) cost one
// cache block each, a long sequential read costs a request per
// MaxRequest, and concurrent readers of one block share its request.
func TestRuns(t *testing.T) {
	data := make([]byte, 40<<20+5)
	for i := range data {
		data[i] = byte(i*7 + i>>16)
	}
	Configure(testOptions())
	name, s, err := Resolve(serveBytes(t, "d.bin", data))
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	pf := f.(interface{ Prefetch(off, n int64) })
	before := Counters()
	var offs []int64
	for off := int64(3 << 20); off < 20<<20; off += 3<<20 + 4096*5 {
		offs = append(offs, off)
		pf.Prefetch(off, 4096)
	}
	p := make([]byte, 4096)
	for _, off := range offs {
		if _, err := f.ReadAt(p, off); err != nil || !bytes.Equal(p, data[off:off+4096]) {
			t.Fatalf("at %d: %v", off, err)
		}
	}
	after := Counters()
	if got, want := after.Bytes-before.Bytes, int64(len(offs))*BlockSize; got != want {
		t.Errorf("hinted pieces fetched %d bytes, want %d", got, want)
	}

	// Sequential: 1 MiB reads from 20 MiB to the end, by an object that
	// no chain gives hints to.
	f, err = s.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	before = Counters()
	q := make([]byte, 1<<20)
	for off := int64(20 << 20); off < int64(len(data)); off += int64(len(q)) {
		n, err := f.ReadAt(q, off)
		if (err != nil && err != io.EOF) || !bytes.Equal(q[:n], data[off:off+int64(n)]) {
			t.Fatalf("at %d: %v", off, err)
		}
	}
	after = Counters()
	// The read-ahead grows with the stream (four times what was read):
	// three requests before it reaches MaxRequest.
	if got, max := after.Requests-before.Requests, int64(3+(20<<20+MaxRequest-1)/MaxRequest); got > max {
		t.Errorf("20 MiB sequential: %d requests, want at most %d", got, max)
	}

	// Eight readers of one cold stretch: one set of requests.
	before = Counters()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 256<<10)
			if _, err := f.ReadAt(b, 1<<20); err != nil || !bytes.Equal(b, data[1<<20:1<<20+len(b)]) {
				t.Errorf("shared read: %v", err)
			}
		}()
	}
	wg.Wait()
	if got := Counters().Requests - before.Requests; got != 1 {
		t.Errorf("8 concurrent readers of one stretch: %d requests, want 1", got)
	}
}

// TestPooledBlocks: block memory is recycled (a tiny memory cache, spent
// read-ahead blocks) while many readers copy out of it, sequentially and
// at random, from two opens of one object: every byte read is the
// object's, and after the readers are done no block is held twice (the
// race detector watches the buffers change hands).
func TestPooledBlocks(t *testing.T) {
	data := make([]byte, 24<<20+777)
	for i := range data {
		data[i] = byte(i*31 + i>>13)
	}
	url := serveBytes(t, "d.bin", data)
	o := testOptions()
	o.MemCache = 4 * BlockSize // far less than the readers have in flight
	o.ReadAhead = 2 << 20
	Configure(o)
	name, s, err := Resolve(url)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for r := 0; r < 8; r++ {
		f, err := s.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := make([]byte, 100<<10+r*4096)
			for k := 0; k < 60; k++ {
				off := int64(k) * int64(len(p)) // sequential: read-ahead, spent blocks
				if r%2 == 1 {
					off = int64((k*7919 + r*104729) % len(data)) // random
				}
				n, err := f.ReadAt(p, off)
				if (err != nil && err != io.EOF) || !bytes.Equal(p[:n], data[off:off+int64(n)]) {
					t.Errorf("reader %d at %d: %d bytes, %v, or wrong bytes", r, off, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c := memCache()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sz > c.max+MaxRequest {
		t.Errorf("cache holds %d bytes, bound %d", c.sz, c.max)
	}
	for k, e := range c.m {
		if r := e.Value.(*cacheEntry).buf.refs.Load(); r != 1 {
			t.Errorf("block %v has %d references once the readers are done, want 1 (the cache's)", k, r)
		}
	}
}

// TestChainStem: the names warm takes for one chain's files.
func TestChainStem(t *testing.T) {
	for name, want := range map[string]string{
		"s3://b/vm/Virtual Hard Disks/Web02.vhdx":          "web02",
		"web02_D2D7E9F2-D60A-416E-B386-5F7E5C7693E2.avhdx": "web02",
		"dir/disk_0_1.VHD": "disk",
		"_odd.vhdx":        "_odd",
		"layer3.avhdx":     "layer3",
	} {
		if got := chainStem(name); got != want {
			t.Errorf("chainStem(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestPrefetchEdges: read-ahead hints at the edges of an object (its
// last, short block; past its end; empty or negative ranges) fetch only
// what lies inside it, and the reads after them get the object's bytes.
func TestPrefetchEdges(t *testing.T) {
	data := make([]byte, 3<<20+5) // the last block holds 5 bytes
	for i := range data {
		data[i] = byte(i*13 + i>>12)
	}
	Configure(testOptions())
	name, f := openServed(t, serveBytes(t, "e.bin", data))
	pf := f.(interface{ Prefetch(off, n int64) })
	size := int64(len(data))
	reqs := RequestsFor(name) // this object's: a request of an earlier test may still end
	for _, r := range [][2]int64{{size, 10}, {size + 1<<20, 1 << 20}, {-5, 10}, {-1 << 20, 1 << 20}, {4096, 0}, {4096, -1}, {size - 1, 0}} {
		pf.Prefetch(r[0], r[1])
	}
	time.Sleep(50 * time.Millisecond) // what they would send, they send at once
	if d := RequestsFor(name) - reqs; d != 0 {
		t.Errorf("empty or outside hints sent %d requests", d)
	}
	// Across the end: from 100 bytes into the third block from the end
	// (the short one's 5 bytes last), one request.
	before, reqs := Counters(), RequestsFor(name)
	pf.Prefetch(size-BlockSize-100, 1<<20)
	p := make([]byte, BlockSize+200)
	n, err := f.ReadAt(p, size-BlockSize-100)
	if err != io.EOF || int64(n) != BlockSize+100 || !bytes.Equal(p[:n], data[size-BlockSize-100:]) {
		t.Errorf("read across the end: %d bytes, %v", n, err)
	}
	after := Counters()
	if r, b := RequestsFor(name)-reqs, after.Bytes-before.Bytes; r != 1 || b != 2*BlockSize+5 {
		t.Errorf("hint across the end: %d requests, %d bytes; want 1, %d", r, b, 2*BlockSize+5)
	}
	if n, err := f.ReadAt(p, size); n != 0 || err != io.EOF {
		t.Errorf("read at the end: %d, %v", n, err)
	}
}

// serveBytes serves data as name from an nginx on loopback and returns
// its URL.
func serveBytes(t *testing.T, name string, data []byte) string {
	t.Helper()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := testutil.Nginx(t, root, "")
	return "http://127.0.0.1:" + itoa(srv.Port) + "/" + name
}

// openServed resolves url with the options Configure last set and opens
// it, returning the object's name and the open file.
func openServed(t *testing.T, url string) (string, catalog.File) {
	t.Helper()
	name, s, err := Resolve(url)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	return name, f
}
