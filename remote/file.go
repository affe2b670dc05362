package remote

import (
	"context"
	"io"
	"sync"
	"sync/atomic"

	"github.com/ckptfs/ckptfs/catalog"
)

var fileIDs atomic.Uint64

// file is one open object, read by blocks through the caches. Its reads
// all name the ETag it was opened with.
type file struct {
	s    *source
	key  string
	fi   catalog.FileInfo
	id   uint64 // the cache's name for this open object
	reqs atomic.Int64

	mu    sync.Mutex
	last  int64 // the last block read, to spot a sequential reader
	ahead int64 // blocks below this one were already asked for ahead
	sem   chan struct{}
}

func newFile(s *source, key string, fi catalog.FileInfo) *file {
	return &file{s: s, key: key, fi: fi, id: fileIDs.Add(1), last: -2, sem: make(chan struct{}, s.opt.ReadAhead)}
}

func (f *file) Name() string                { return f.fi.Name }
func (f *file) Size() int64                 { return f.fi.Size }
func (f *file) Identity() catalog.Identity  { return f.fi.ID }
func (f *file) Close() error                { return nil }
func (f *file) String() string              { return f.fi.Name }
func (f *file) blocks() int64               { return (f.fi.Size + BlockSize - 1) / BlockSize }
func (f *file) cacheName() (string, string) { return f.fi.Name, f.fi.ID.Version }

// Requests is the number of requests this object's reads sent.
func (f *file) Requests() int64 { return f.reqs.Load() }

// fetch reads block i from the store (or the disk cache).
func (f *file) fetch(i int64) ([]byte, error) {
	n := min(BlockSize, f.fi.Size-i*BlockSize)
	if dc := diskCache(); dc != nil {
		if b := dc.get(f, i, n); b != nil {
			stats.hits.Add(1)
			return b, nil
		}
	}
	buf := make([]byte, n)
	err := f.s.do("read", f.key, func(ctx context.Context) error {
		f.reqs.Add(1)
		return f.s.b.get(ctx, f.key, f.fi.ID.Version, i*BlockSize, buf)
	})
	if err != nil {
		return nil, err
	}
	stats.bytes.Add(n)
	if dc := diskCache(); dc != nil {
		dc.put(f, i, buf)
	}
	return buf, nil
}

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, &Error{Op: "read", Name: f.fi.Name, Err: io.ErrUnexpectedEOF}
	}
	if off >= f.fi.Size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), f.fi.Size-off)
	first, last := off/BlockSize, (off+want-1)/BlockSize
	f.readAhead(off, want, last)
	// Every block of the range is asked for at once, so a large read
	// has its requests in flight together.
	type res struct {
		b   []byte
		err error
	}
	results := make([]chan res, last-first+1)
	for i := first; i <= last; i++ {
		ch := make(chan res, 1)
		results[i-first] = ch
		go func(i int64) {
			b, err := memCache().get(f, i)
			ch <- res{b, err}
		}(i)
	}
	n := 0
	var firstErr error
	for i := first; i <= last; i++ {
		r := <-results[i-first]
		if r.err != nil {
			if firstErr == nil {
				firstErr = r.err
			}
			continue
		}
		if firstErr != nil {
			continue
		}
		start := max(off, i*BlockSize)
		end := min(off+want, i*BlockSize+int64(len(r.b)))
		n += copy(p[start-off:end-off], r.b[start-i*BlockSize:end-i*BlockSize])
	}
	if firstErr != nil {
		return n, firstErr
	}
	if int64(n) < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

// readAhead starts fetching the blocks after a read that continues the
// previous one, keeping ReadAhead blocks in flight. A read counts as
// sequential when it starts in the block the last one ended in or the
// next: a differencing layer is read in sector runs with gaps between
// them, in order.
func (f *file) readAhead(off, n, last int64) {
	f.mu.Lock()
	first := off / BlockSize
	seq := first == f.last || first == f.last+1
	f.last = last
	from := max(last+1, f.ahead)
	to := min(last+1+int64(f.s.opt.ReadAhead), f.blocks())
	if seq && from < to {
		f.ahead = to
	}
	f.mu.Unlock()
	if seq {
		f.prefetchBlocks(from, to)
	}
}

// Prefetch asks for the blocks of a byte range in the background: the
// disk chain's read-ahead calls it with the ranges a reader will want.
func (f *file) Prefetch(off, n int64) {
	if off < 0 || n <= 0 || off >= f.fi.Size {
		return
	}
	last := min((off+n-1)/BlockSize, f.blocks()-1)
	f.prefetchBlocks(off/BlockSize, min(last+1, off/BlockSize+int64(4*f.s.opt.ReadAhead)))
}

func (f *file) prefetchBlocks(from, to int64) {
	for i := from; i < to; i++ {
		if memCache().has(f, i) {
			continue
		}
		select {
		case f.sem <- struct{}{}:
		default:
			return // enough in flight already
		}
		go func(i int64) {
			defer func() { <-f.sem }()
			memCache().get(f, i)
		}(i)
	}
}
