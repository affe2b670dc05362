package remote

import (
	"bytes"
	"errors"
	"github.com/ckptfs/ckptfs/catalog"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestHTTPChain reads a 4-layer chain from nginx by the URL of its top
// file: the parents are found beside it by their locators, and every
// checkpoint reads as the local copy does.
func TestHTTPChain(t *testing.T) {
	vm := testutil.RemoteVM(t)
	Configure(testOptions())
	srv := testutil.Nginx(t, filepath.Dir(vm), "")
	local := localCatalog(t, vm)
	top := topDisk(t, local)
	u := url.URL{Scheme: "http", Host: "127.0.0.1:" + itoa(srv.Port), Path: "/web02/Virtual Hard Disks/" + top}
	// A query string stands for a presigned signature: it must be sent
	// (nginx ignores it) and never shown.
	src := u.String() + "?X-Amz-Signature=SECRETSIG123&X-Amz-Credential=AKIDSECRET"
	before := Counters()
	rem := openRemote(t, src)
	logLayers(t, rem) // the requests opening the chain took
	checkOpenCost(t, rem, before, 2, 0)
	if s := rem.Source; strings.Contains(s, "SECRET") {
		t.Errorf("catalog source %q holds the signature", s)
	}
	// Without configuration (a web server lists no folder) each layer
	// is a checkpoint named by its file: compare them by file.
	byFile := map[string]*catalog.Disk{}
	for _, d := range checkpoints(local) {
		byFile[filepath.Base(d.File)] = d
	}
	rc := checkpoints(rem)
	if len(rc) != 5 { // 4 files, and Now
		t.Fatalf("remote checkpoints %v", rc)
	}
	for k, d := range rc {
		lc := byFile[path.Base(d.File)]
		if lc == nil || len(d.Chain.Layers) != len(lc.Chain.Layers) {
			t.Fatalf("%s: %s has no local match", k, d.File)
		}
		lb, rb := make([]byte, lc.Chain.Size()), make([]byte, d.Chain.Size())
		lc.Chain.ReadAt(lb, 0)
		if _, err := d.Chain.ReadAt(rb, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(lb, rb) {
			t.Errorf("%s: raw image differs from the local copy", k)
		}
	}
	logLayers(t, rem)
}

// TestHTTPFaults: a missing file, a replaced file, a 503 storm, a slow
// server and a stopped one each give a clear error within the retries'
// time bound, and never show the URL's query string.
func TestHTTPFaults(t *testing.T) {
	root := t.TempDir()
	data := make([]byte, 12<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(filepath.Join(root, "disk.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"slow", "steady"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
		os.WriteFile(filepath.Join(root, d, "disk.bin"), data, 0o644)
	}
	srv := testutil.Nginx(t, root, `location /storm/ { return 503; }
		location /slow/ { limit_rate 4k; }
		location /steady/ { limit_rate 2m; }`)
	base := "http://127.0.0.1:" + itoa(srv.Port)
	secret := "?X-Amz-Credential=AKIDTOPSECRET&X-Amz-Signature=TOPSECRETSIG"
	o := testOptions()
	o.Timeout = time.Second
	o.Retries = 2
	Configure(o)
	bound := time.Duration(o.Retries+1)*o.Timeout + 3*time.Second

	open := func(p string) (*file, error) {
		_, s, err := Resolve(base + p + secret)
		if err != nil {
			return nil, err
		}
		f, err := s.Open(base + p)
		if err != nil {
			return nil, err
		}
		return f.(*file), nil
	}
	noSecret := func(err error) {
		t.Helper()
		if err != nil && (strings.Contains(err.Error(), "TOPSECRET") || strings.Contains(err.Error(), "Signature=T")) {
			t.Errorf("error shows the signature: %v", err)
		}
	}

	// 404 names the object.
	_, err := open("/missing.vhdx")
	noSecret(err)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), base+"/missing.vhdx") {
		t.Errorf("missing: %v", err)
	}

	// A 503 storm: retried, then ErrUnavailable.
	start := time.Now()
	_, err = open("/storm/disk.bin")
	noSecret(err)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "503") {
		t.Errorf("503 storm: %v", err)
	}
	if d := time.Since(start); d > bound {
		t.Errorf("503 storm took %v", d)
	}

	// A server trickling 4 KB/s, below the rate floor: each try ends a
	// timeout after its first bytes. (nginx sends it a second's worth at
	// a time: with a timeout of 1 s the stall rule may end it first.)
	so := o
	so.Timeout = 2 * time.Second
	so.Retries = 1
	Configure(so)
	f, err := open("/slow/disk.bin")
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	_, err = f.ReadAt(make([]byte, 4096), 0)
	noSecret(err)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "below the floor") {
		t.Errorf("slow server: %v", err)
	}
	if d, b := time.Since(start), time.Duration(so.Retries+1)*so.Timeout+3*time.Second; d > b {
		t.Errorf("slow server took %v (bound %v)", d, b)
	}
	t.Logf("slow server: %v", err)

	// A slow but steady server (2 MiB/s, far above the floor): one
	// request of 9 MiB takes several timeouts and succeeds in one try,
	// where a bound on the whole body failed it (nginx's first burst of
	// 2 MiB and 2 MiB more in the second).
	so.Timeout = time.Second
	so.Retries = 0
	Configure(so)
	f, err = open("/steady/disk.bin")
	if err != nil {
		t.Fatal(err)
	}
	before := Counters()
	start = time.Now()
	big := make([]byte, 9<<20)
	if _, err := f.ReadAt(big, 1<<20); err != nil {
		t.Errorf("steady server: %v", err)
	} else if !bytes.Equal(big, data[1<<20:10<<20]) {
		t.Error("steady server: wrong bytes")
	}
	after := Counters()
	t.Logf("steady server: 9 MiB in %v, %d requests", time.Since(start).Round(time.Millisecond), after.Requests-before.Requests)
	if n := after.Retries - before.Retries; n != 0 {
		t.Errorf("steady server: %d retries", n)
	}
	Configure(o)

	// Replaced while open: the next read fails, never mixes versions.
	f, err = open("/disk.bin")
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 4096)
	if _, err := f.ReadAt(p, 0); err != nil || string(p) != string(data[:4096]) {
		t.Fatalf("first read: %v", err)
	}
	time.Sleep(1100 * time.Millisecond) // a new mtime, so a new ETag
	if err := os.WriteFile(filepath.Join(root, "disk.bin"), append([]byte("new!"), data[4:]...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = f.ReadAt(p, 5<<20)
	noSecret(err)
	if !errors.Is(err, ErrChanged) {
		t.Errorf("replaced: %v", err)
	}

	// The server stopped mid-read.
	f, err = open("/disk.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(p, 0); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	start = time.Now()
	_, err = f.ReadAt(p, 6<<20)
	noSecret(err)
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("stopped server: %v", err)
	}
	if d := time.Since(start); d > bound {
		t.Errorf("stopped server took %v", d)
	}
	t.Logf("stopped server: %v", err)
}

// TestHeldViews: the raw images of a 4-layer chain read from nginx
// through vhdx's HeldViews (the remote blocks lent, not copied) equal the
// local copy's, in pieces of several sizes and alignments, and once every
// view is released no block is held by anyone but the cache.
func TestHeldViews(t *testing.T) {
	vm := testutil.RemoteVM(t)
	o := testOptions()
	o.MemCache = 8 << 20 // blocks evicted while views hold them
	Configure(o)
	srv := testutil.Nginx(t, filepath.Dir(vm), "")
	local := localCatalog(t, vm)
	top := topDisk(t, local)
	u := url.URL{Scheme: "http", Host: "127.0.0.1:" + itoa(srv.Port), Path: "/web02/Virtual Hard Disks/" + top}
	rem := openRemote(t, u.String())
	byFile := map[string]*catalog.Disk{}
	for _, d := range checkpoints(local) {
		byFile[filepath.Base(d.File)] = d
	}
	lent := 0
	for k, d := range checkpoints(rem) {
		lc := byFile[path.Base(d.File)]
		want := make([]byte, lc.Chain.Size())
		lc.Chain.ReadAt(want, 0)
		for _, piece := range []int{1 << 20, 100<<10 + 512} {
			var got []byte
			for off := int64(0); off < d.Chain.Size(); off += int64(piece) {
				views, release, ok, err := d.Chain.HeldViews(off, piece)
				if err != nil {
					t.Fatalf("%s at %d: %v", k, off, err)
				}
				if !ok {
					buf := make([]byte, min(int64(piece), d.Chain.Size()-off))
					if _, err := d.Chain.ReadAt(buf, off); err != nil {
						t.Fatal(err)
					}
					got = append(got, buf...)
					continue
				}
				lent++
				for _, v := range views {
					got = append(got, v...)
				}
				release()
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s in pieces of %d: raw image differs from the local copy", k, piece)
			}
		}
	}
	if lent == 0 {
		t.Error("no piece was lent")
	}
	c := memCache()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if r := e.Value.(*cacheEntry).buf.refs.Load(); r != 1 {
			t.Errorf("block %v has %d references once the views are released, want 1", k, r)
		}
	}
}
