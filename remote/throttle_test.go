package remote

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestHeldReadAhead: read-ahead far past the reader is held, yet a
// reader jumping into it gets its bytes at once (it is wanted), and read-
// ahead nobody reads is abandoned after maxHold: its blocks are asked for
// again when read, without an error. Holding never fails or stalls a
// read.
func TestHeldReadAhead(t *testing.T) {
	root := t.TempDir()
	data := make([]byte, 24<<20)
	for i := range data {
		data[i] = byte(i*13 + i>>16)
	}
	if err := os.WriteFile(filepath.Join(root, "disk.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := testutil.Nginx(t, root, "")
	Configure(testOptions())
	defer holdFor.Store(holdFor.Load())
	holdFor.Store(int64(time.Second))
	base := "http://127.0.0.1:" + itoa(srv.Port)
	_, s, err := Resolve(base + "/disk.bin")
	if err != nil {
		t.Fatal(err)
	}
	ff, err := s.Open(base + "/disk.bin")
	if err != nil {
		t.Fatal(err)
	}
	f := ff.(*file)
	buf := make([]byte, 64<<10)
	if _, err := f.ReadAt(buf, 0); err != nil || !bytes.Equal(buf, data[:len(buf)]) {
		t.Fatalf("first read: %v", err)
	}

	// A 16 MiB read-ahead call past the reader's 64 KiB: held after the
	// budget, abandoned after maxHold; its bytes are asked for again
	// when read.
	f.Prefetch(4<<20, 16<<20)
	time.Sleep(100 * time.Millisecond)
	if n := f.nheld.Load(); n != 1 {
		t.Errorf("%d read-ahead calls held past the reader, want 1", n)
	}
	reqs := f.Requests()
	time.Sleep(maxHold() + 500*time.Millisecond)
	if n := f.nheld.Load(); n != 0 {
		t.Errorf("%d calls still held after %v", n, maxHold())
	}
	for off := int64(4 << 20); off < 20<<20; off += int64(len(buf)) {
		if _, err := f.ReadAt(buf, off); err != nil || !bytes.Equal(buf, data[off:off+int64(len(buf))]) {
			t.Fatalf("read at %d: %v", off, err)
		}
	}
	if n := f.Requests() - reqs; n == 0 {
		t.Errorf("the abandoned read-ahead's bytes took no more requests")
	}

	// A reader jumping into a held call is not kept waiting.
	f.Prefetch(22<<20, 2<<20)
	time.Sleep(100 * time.Millisecond)
	if n := f.nheld.Load(); n != 1 {
		t.Errorf("%d read-ahead calls held past the reader, want 1", n)
	}
	start := time.Now()
	if _, err := f.ReadAt(buf, 23<<20); err != nil || !bytes.Equal(buf, data[23<<20:23<<20+len(buf)]) {
		t.Fatalf("read into a held call: %v", err)
	}
	if d := time.Since(start); d > maxHold()/2 {
		t.Errorf("a read into a held call took %v", d)
	}

	// Held longer than the timeout: the time held does not count, the
	// request goes on once the reader gets there, without a retry.
	o := testOptions()
	o.Timeout = time.Second
	Configure(o)
	holdFor.Store(int64(5 * time.Second))
	_, s, err = Resolve(base + "/disk.bin")
	if err != nil {
		t.Fatal(err)
	}
	if ff, err = s.Open(base + "/disk.bin"); err != nil {
		t.Fatal(err)
	}
	f = ff.(*file)
	if _, err := f.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	f.Prefetch(4<<20, 16<<20)
	time.Sleep(5 * o.Timeout / 2)
	if n := f.nheld.Load(); n != 1 {
		t.Errorf("%d read-ahead calls held past the reader, want 1", n)
	}
	before := Counters()
	for off := int64(4 << 20); off < 20<<20; off += int64(len(buf)) {
		if _, err := f.ReadAt(buf, off); err != nil || !bytes.Equal(buf, data[off:off+int64(len(buf))]) {
			t.Fatalf("read at %d: %v", off, err)
		}
	}
	if d := Counters(); d.Retries != before.Retries || d.Requests != before.Requests {
		t.Errorf("a call held past the timeout took %d requests and %d retries more", d.Requests-before.Requests, d.Retries-before.Retries)
	}
}
