//go:build linux

package fs

import (
	"fmt"
	iofs "io/fs"
	"path"
	"slices"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// countingFS counts the listings read of each folder.
type countingFS struct {
	fstest.MapFS
	mu    sync.Mutex
	reads map[string]int
	delay time.Duration
}

func (c *countingFS) ReadDir(p string) ([]iofs.DirEntry, error) {
	c.mu.Lock()
	c.reads[p]++
	c.mu.Unlock()
	time.Sleep(c.delay)
	return c.MapFS.ReadDir(p)
}

func (c *countingFS) count(p string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads[p]
}

func prefetchTree(dirs int) *countingFS {
	m := fstest.MapFS{}
	for i := range dirs {
		for j := range 3 {
			m[fmt.Sprintf("d%04d/f%d", i, j)] = &fstest.MapFile{Data: []byte("x")}
		}
	}
	return &countingFS{MapFS: m, reads: map[string]int{}}
}

func entryNames(ents []iofs.DirEntry) []string {
	var n []string
	for _, e := range ents {
		n = append(n, e.Name())
	}
	return n
}

// TestPrefetchListsOnce: folders listed ahead are read once, and their
// listings are the ones a plain read gives, whether the walk comes after
// the read-ahead or while it runs.
func TestPrefetchListsOnce(t *testing.T) {
	for _, delay := range []time.Duration{0, 2 * time.Millisecond} {
		fsys := prefetchTree(40)
		fsys.delay = delay
		pf := newPrefetcher(fsys)
		var paths []string
		for i := range 40 {
			paths = append(paths, fmt.Sprintf("d%04d", i))
		}
		pf.ahead(paths)
		for _, p := range paths {
			got, err := pf.readDir(p)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := fsys.MapFS.ReadDir(p)
			if !slices.Equal(entryNames(got), entryNames(want)) {
				t.Errorf("%s: %q, want %q", p, entryNames(got), entryNames(want))
			}
		}
		for _, p := range paths {
			if n := fsys.count(p); n != 1 {
				t.Errorf("delay %v: %s listed %d times, want once", delay, p, n)
			}
		}
		// Taken once: a second listing reads the folder again.
		if _, err := pf.readDir(paths[0]); err != nil || fsys.count(paths[0]) != 2 {
			t.Errorf("second listing of %s: %v, %d reads", paths[0], err, fsys.count(paths[0]))
		}
	}
}

// TestPrefetchBounded: a folder of many folders queues and keeps only a
// bounded number of listings, and the walk still lists every one right.
func TestPrefetchBounded(t *testing.T) {
	const n = 3000
	fsys := prefetchTree(n)
	pf := newPrefetcher(fsys)
	var paths []string
	for i := range n {
		paths = append(paths, fmt.Sprintf("d%04d", i))
	}
	pf.ahead(paths)
	pf.mu.Lock()
	if len(pf.todo) > prefetchQueue {
		t.Errorf("%d folders queued, bound %d", len(pf.todo), prefetchQueue)
	}
	pf.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pf.mu.Lock()
		idle := pf.running == 0
		kept, order := len(pf.kept), len(pf.order)
		pf.mu.Unlock()
		pf.mu.Lock()
		ents := 0
		for _, l := range pf.kept {
			ents += len(l.ents)
		}
		keptN := pf.keptN
		pf.mu.Unlock()
		if kept > prefetchKept || order > 4*prefetchKept+1 || ents != keptN || ents > prefetchKeptEnts {
			t.Fatalf("%d listings kept (%d in order) of %d entries (counted %d), bounds %d and %d",
				kept, order, ents, keptN, prefetchKept, prefetchKeptEnts)
		}
		if idle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("read-ahead workers still running after 10 s")
		}
		time.Sleep(time.Millisecond)
	}
	read := 0
	for _, p := range paths {
		read += fsys.count(p)
	}
	if read > prefetchQueue+prefetchWorkers {
		t.Errorf("%d folders read ahead, more than the queue holds", read)
	}
	for _, p := range paths {
		got, err := pf.readDir(p)
		if err != nil || len(got) != 3 {
			t.Fatalf("%s: %d entries, %v", p, len(got), err)
		}
	}
}

// TestPrefetchEntriesBounded: listings kept hold at most prefetchKeptEnts
// entries in all, however many folders are listed ahead.
func TestPrefetchEntriesBounded(t *testing.T) {
	m := fstest.MapFS{}
	var paths []string
	for i := range 40 {
		p := fmt.Sprintf("d%02d", i)
		paths = append(paths, p)
		for j := range 4000 {
			m[fmt.Sprintf("%s/f%04d", p, j)] = &fstest.MapFile{}
		}
	}
	fsys := &countingFS{MapFS: m, reads: map[string]int{}}
	pf := newPrefetcher(fsys)
	pf.ahead(paths)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
		pf.mu.Lock()
		idle, n := pf.running == 0, pf.keptN
		pf.mu.Unlock()
		if n > prefetchKeptEnts || n > 1<<16 {
			t.Fatalf("%d entries kept, bound %d", n, prefetchKeptEnts)
		}
		if idle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("read-ahead workers still running after 20 s")
		}
	}
	for _, p := range paths {
		if got, err := pf.readDir(p); err != nil || len(got) != 4000 {
			t.Fatalf("%s: %d entries, %v", p, len(got), err)
		}
	}
	if pf.keptN != 0 || len(pf.kept) != 0 {
		t.Errorf("after the walk: %d listings, %d entries kept", len(pf.kept), pf.keptN)
	}
}

// infoCountingFS counts the Info calls on the entries its listings give;
// an entry named "boom" panics in Info.
type infoCountingFS struct {
	fstest.MapFS
	mu    sync.Mutex
	infos map[string]int
}

type countedEntry struct {
	iofs.DirEntry
	fsys *infoCountingFS
	path string
}

func (e countedEntry) Info() (iofs.FileInfo, error) {
	e.fsys.mu.Lock()
	e.fsys.infos[e.path]++
	e.fsys.mu.Unlock()
	if e.Name() == "boom" {
		panic("boom")
	}
	return e.DirEntry.Info()
}

func (c *infoCountingFS) ReadDir(p string) ([]iofs.DirEntry, error) {
	ents, err := c.MapFS.ReadDir(p)
	for i, e := range ents {
		ents[i] = countedEntry{e, c, path.Join(p, e.Name())}
	}
	return ents, err
}

func (c *infoCountingFS) count(p string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.infos[p]
}

// waitIdle waits until no read-ahead worker or describer runs.
func waitIdle(t *testing.T, pf *prefetcher) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		pf.mu.Lock()
		idle := pf.running == 0 && pf.describing == 0
		pf.mu.Unlock()
		if idle {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("read-ahead still running after 10 s")
		}
	}
}

// TestPrefetchDescribesFolders: the folders of a listing read ahead (or
// read by the walk) are described ahead, once each, and none of its
// files; a listing of many folders has its first describeMax described;
// an Info that panics stops nothing.
func TestPrefetchDescribesFolders(t *testing.T) {
	m := fstest.MapFS{}
	var top []string
	for i := range 20 {
		d := fmt.Sprintf("d%02d", i)
		top = append(top, d)
		for j := range 3 {
			m[fmt.Sprintf("%s/s%d/f", d, j)] = &fstest.MapFile{Data: []byte("x")}
		}
		m[d+"/file"] = &fstest.MapFile{Data: []byte("x")}
	}
	m["d07/boom/f"] = &fstest.MapFile{}
	for j := range describeMax + 50 {
		m[fmt.Sprintf("many/s%04d/f", j)] = &fstest.MapFile{}
	}
	fsys := &infoCountingFS{MapFS: m, infos: map[string]int{}}
	pf := newPrefetcher(fsys)
	pf.ahead(top)
	waitIdle(t, pf)
	for _, d := range top {
		for j := range 3 {
			if n := fsys.count(fmt.Sprintf("%s/s%d", d, j)); n != 1 {
				t.Errorf("%s/s%d described %d times, want once", d, j, n)
			}
		}
		if n := fsys.count(d + "/file"); n != 0 {
			t.Errorf("%s/file described %d times, want never", d, n)
		}
	}
	if n := fsys.count("d07/boom"); n != 1 {
		t.Errorf("d07/boom described %d times, want once", n)
	}
	// The walk's own listing (nothing read ahead) describes too, and a
	// listing of many folders only its first describeMax.
	if ents, err := pf.readDir("many"); err != nil || len(ents) != describeMax+50 {
		t.Fatalf("many: %d entries, %v", len(ents), err)
	}
	waitIdle(t, pf)
	described := 0
	for j := range describeMax + 50 {
		described += fsys.count(fmt.Sprintf("many/s%04d", j))
	}
	if described != describeMax || fsys.count("many/s0000") != 1 {
		t.Errorf("%d folders of many described (the first %d times), want the first %d once",
			described, fsys.count("many/s0000"), describeMax)
	}
	pf.mu.Lock()
	if len(pf.describe) != 0 {
		t.Errorf("%d folders left to describe", len(pf.describe))
	}
	pf.mu.Unlock()
}

// TestPrefetchDescribeBounded: folders waiting to be described are at
// most describeQueue, however many listings queue theirs.
func TestPrefetchDescribeBounded(t *testing.T) {
	m := fstest.MapFS{}
	for j := range describeQueue + 500 {
		m[fmt.Sprintf("a/s%05d/f", j)] = &fstest.MapFile{}
	}
	fsys := &infoCountingFS{MapFS: m, infos: map[string]int{}}
	pf := newPrefetcher(fsys)
	ents, err := fsys.ReadDir("a")
	if err != nil {
		t.Fatal(err)
	}
	pf.mu.Lock()
	for i := 0; i < len(ents); i += describeMax {
		pf.describeLocked(ents[i:min(i+describeMax, len(ents))])
		if len(pf.describe) > describeQueue {
			t.Errorf("%d folders queued to describe, bound %d", len(pf.describe), describeQueue)
		}
	}
	pf.mu.Unlock()
	waitIdle(t, pf)
}
