//go:build linux

package fs

import (
	"errors"
	iofs "io/fs"
	"path"
	"slices"
	"sync"
)

// errPrefetchPanic stands for a listing whose reader panicked while read
// ahead; the walk's own request reads it again (and reports the fault).
var errPrefetchPanic = errors.New("listing read ahead failed")

// Listings read ahead.
//
// A walk of a cold volume (find, du, cp -r, a hash of every file) lists
// one folder at a time: each listing waits for the reads of its folder's
// index or blocks (an NTFS index record, ext directory blocks), one after
// the other, while the disk could serve several at once. So when a
// listing is read for the kernel, the folders it holds are listed ahead
// by a few background workers, in the order a depth-first walk visits
// them (the last listing's folders first, its first folder first), and
// the result is kept for the walk's own request, which takes it (once)
// or waits for it if it is being read. Everything is bounded: a few
// workers, a stack of folders to list that forgets its oldest ones, and
// a few hundred listings of at most 64 Ki entries in all kept (the oldest
// dropped first); a listing of many entries is read ahead but not kept
// (its reads are in the page cache then). Nothing changes in what a listing says: the volume is
// immutable, and a listing read ahead is the one the walk would read.
//
// The folders a listing holds are also described ahead (describe): the
// READDIRPLUS that serves a listing to the walk describes every folder
// in it, one after the other, and on a cold NTFS volume each is an MFT
// record read from the disk while the walk waits (a cold find of 1,020
// folders spent 110-140 ms of its 0.35 s there, 25-35 ms with the disk
// files in the page cache). A few describers read those records
// together, ahead of the walk, into the reader's caches, where the walk's
// own lookups find them. The descriptions are dropped: the lookups make
// theirs, so nothing a lookup answers changes.

const (
	prefetchWorkers = 4
	prefetchQueue   = 512  // folders waiting to be listed
	prefetchKept    = 256  // listings read ahead and not yet taken
	prefetchMaxEnts = 4096 // larger listings are not kept
	// prefetchKeptEnts bounds the entries of all listings kept: a plain
	// ls of a folder of 256 big folders must not hold a million entries.
	prefetchKeptEnts = 64 << 10
	// describeQueue bounds the folders waiting to be described (the
	// oldest are forgotten): more than the records a reader keeps
	// (package ntfs: 4,096) would only push out what the walk needs.
	describeQueue = 2048
	// describeMax bounds the folders of one listing described ahead:
	// what the first READDIRPLUS batch of a listing can hold.
	describeMax = 256
	// describers is how many folders are described at once: a virtio
	// disk serves 4 KiB reads 2-4 times as fast at depth 8 as at depth 1.
	describers = 8
)

// prefetcher reads listings ahead for one volume.
type prefetcher struct {
	fsys iofs.FS

	mu      sync.Mutex
	todo    []string                 // stack: the next folder to list is last
	running int                      // workers
	busy    map[string]chan struct{} // being listed, closed when done
	kept    map[string]listed        // read ahead, not yet taken
	keptN   int                      // entries of kept's listings
	order   []string                 // kept's keys, oldest first

	// folders to describe, oldest first (the walk's order), and the
	// goroutines describing them
	describe   []iofs.DirEntry
	describing int
}

type listed struct {
	ents []iofs.DirEntry
	err  error
}

func newPrefetcher(fsys iofs.FS) *prefetcher {
	return &prefetcher{fsys: fsys, busy: map[string]chan struct{}{}, kept: map[string]listed{}}
}

// readDir returns the listing of p, taking the one read ahead if there
// is one (waiting for it if it is being read), else reading it.
func (pf *prefetcher) readDir(p string) ([]iofs.DirEntry, error) {
	pf.mu.Lock()
	if ch, ok := pf.busy[p]; ok {
		pf.mu.Unlock()
		<-ch
		pf.mu.Lock()
	}
	if l, ok := pf.kept[p]; ok {
		pf.drop(p)
		pf.mu.Unlock()
		return l.ents, l.err
	}
	// Queued but not started: the walk is there first, read it once.
	if i := slices.Index(pf.todo, p); i >= 0 {
		pf.todo = slices.Delete(pf.todo, i, i+1)
	}
	pf.mu.Unlock()
	ents, err := iofs.ReadDir(pf.fsys, p)
	if err == nil {
		pf.describeDirs(ents)
	}
	return ents, err
}

// ahead queues the folders at paths (in walk order) to be listed ahead.
func (pf *prefetcher) ahead(paths []string) {
	if len(paths) == 0 {
		return
	}
	pf.mu.Lock()
	defer pf.mu.Unlock()
	for i := len(paths) - 1; i >= 0; i-- {
		p := paths[i]
		if _, ok := pf.kept[p]; ok {
			continue
		}
		if _, ok := pf.busy[p]; ok {
			continue
		}
		pf.todo = append(pf.todo, p)
	}
	if over := len(pf.todo) - prefetchQueue; over > 0 {
		pf.todo = append(pf.todo[:0], pf.todo[over:]...)
	}
	for pf.running < prefetchWorkers && pf.running < len(pf.todo) {
		pf.running++
		go pf.work()
	}
}

// work lists queued folders until none is left.
func (pf *prefetcher) work() {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	for len(pf.todo) > 0 {
		p := pf.todo[len(pf.todo)-1]
		pf.todo = pf.todo[:len(pf.todo)-1]
		if _, ok := pf.kept[p]; ok {
			continue
		}
		if _, ok := pf.busy[p]; ok {
			continue
		}
		ch := make(chan struct{})
		pf.busy[p] = ch
		pf.mu.Unlock()
		ents, err := listQuietly(pf.fsys, p)
		pf.mu.Lock()
		delete(pf.busy, p)
		close(ch)
		if err == nil && len(ents) <= prefetchMaxEnts {
			pf.keep(p, listed{ents, nil})
		}
		if err == nil {
			pf.describeLocked(ents)
			pf.firstLocked(p, ents)
		}
	}
	pf.running--
}

// keep stores a listing read ahead, dropping the oldest beyond the bound;
// pf.mu is held. order may name listings already taken (or twice): it is
// compacted when it grows past a few times the bound.
func (pf *prefetcher) keep(p string, l listed) {
	pf.drop(p)
	pf.order = append(pf.order, p)
	pf.kept[p] = l
	pf.keptN += len(l.ents)
	for (len(pf.kept) > prefetchKept || pf.keptN > prefetchKeptEnts) && len(pf.order) > 0 {
		pf.drop(pf.order[0])
		pf.order = pf.order[1:]
	}
	if len(pf.order) > 4*prefetchKept {
		live := pf.order[:0:0]
		for _, k := range pf.order {
			if _, ok := pf.kept[k]; ok {
				live = append(live, k)
			}
		}
		pf.order = live
	}
}

// drop forgets the listing kept for p, if any; pf.mu is held.
func (pf *prefetcher) drop(p string) {
	if l, ok := pf.kept[p]; ok {
		pf.keptN -= len(l.ents)
		delete(pf.kept, p)
	}
}

// firstLocked queues the first folder of a listing read ahead to be
// listed too (pf.mu held): a depth-first walk enters it right after the
// listing, before the listings it asks ahead for it (ahead) would be
// read, and would wait for it at every descent.
func (pf *prefetcher) firstLocked(p string, ents []iofs.DirEntry) {
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		q := path.Join(p, e.Name())
		if _, ok := pf.kept[q]; ok {
			return
		}
		if _, ok := pf.busy[q]; ok {
			return
		}
		pf.todo = append(pf.todo, q)
		return
	}
}

// describeDirs queues the first describeMax folders of a listing to be
// described ahead.
func (pf *prefetcher) describeDirs(ents []iofs.DirEntry) {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	pf.describeLocked(ents)
}

// describeLocked is describeDirs with pf.mu held.
func (pf *prefetcher) describeLocked(ents []iofs.DirEntry) {
	n := 0
	for _, e := range ents {
		if n == describeMax {
			break
		}
		if e.IsDir() {
			pf.describe = append(pf.describe, e)
			n++
		}
	}
	if over := len(pf.describe) - describeQueue; over > 0 {
		pf.describe = append(pf.describe[:0], pf.describe[over:]...)
	}
	for pf.describing < describers && pf.describing < len(pf.describe) {
		pf.describing++
		go pf.describeWork()
	}
}

// describeWork describes queued folders until none is left.
func (pf *prefetcher) describeWork() {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	for len(pf.describe) > 0 {
		e := pf.describe[0]
		pf.describe[0] = nil
		pf.describe = pf.describe[1:]
		pf.mu.Unlock()
		infoQuietly(e)
		pf.mu.Lock()
	}
	pf.describe = nil // the array, emptied, is dropped
	pf.describing--
}

// infoQuietly is e.Info() with its result, error or panic dropped.
func infoQuietly(e iofs.DirEntry) {
	defer func() { _ = recover() }()
	_, _ = e.Info()
}

// listQuietly is iofs.ReadDir with a reader's panic turned into an error:
// it runs outside any request, where nothing else would catch it. Errors
// are not kept: the walk's request reads the folder itself and reports.
func listQuietly(fsys iofs.FS, p string) (ents []iofs.DirEntry, err error) {
	defer func() {
		if r := recover(); r != nil {
			ents, err = nil, errPrefetchPanic
		}
	}()
	return iofs.ReadDir(fsys, p)
}
