package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/vhdx"
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

	mu       sync.Mutex
	lastEnd  int64       // where the last read ended, to spot a sequential reader
	ahead    int64       // bytes below this were already asked for ahead
	streamed int64       // bytes read in a row up to lastEnd
	hinted   atomic.Bool // a disk chain says what to fetch ahead
	planned  atomic.Bool // planOpen ran
	// planCh is closed once planOpen asked for what it planned (or
	// gave up).
	planCh chan struct{}
	readTo atomic.Int64 // one past the block a reader got latest (throttle.go)
	// reading counts the reads under way; lastBlock is one past the
	// last block of the latest read.
	reading   atomic.Int32
	lastBlock atomic.Int64

	// Read-ahead calls held back (throttle.go).
	hmu   sync.Mutex
	held  []*heldCall
	nheld atomic.Int32

	// The written ranges of a page blob, asked for once.
	pagesOnce sync.Once
	pages     [][2]int64
	pagesOK   bool

	// Read-ahead calls waiting for one of the InFlight slots, started
	// lowest offset first: the reader wants the nearest first.
	qmu     sync.Mutex
	queue   []*call
	running int
}

func newFile(s *source, key string, fi catalog.FileInfo) *file {
	return &file{s: s, key: key, fi: fi, id: fileIDs.Add(1), lastEnd: -1, planCh: make(chan struct{})}
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

// run fetches the blocks of a claimed call, from the disk cache when it
// holds all of them, else with one ranged request (one per written range
// of a page blob), publishing each block as its bytes arrive, and records
// them. A retry asks for what is still missing only.
func (f *file) run(cl *call) {
	defer memCache().finish(f, cl)
	off := cl.first * BlockSize
	n := cl.size
	dc := diskCache()
	if dc != nil {
		if dc.getRun(f, cl) {
			stats.hits.Add(cl.n)
			cl.publish(n)
			return
		}
		cl.onFill = func(i int64) { dc.put(f, i, cl.block(i)) }
	}
	var done int64
	var abandoned bool
	for _, sp := range f.spans(off, n) {
		cl.zero(done, sp[0]-off) // the hole before it
		cl.publish(sp[0] - off)
		pos := sp[0]
		cl.err = f.s.do("read", f.key, func(ctx context.Context, w *watch) error {
			f.reqs.Add(1)
			t0, from := time.Now(), pos
			body, err := f.s.b.get(ctx, f.key, f.fi.ID.Version, pos, sp[1]-pos)
			if err != nil {
				return err
			}
			if t := trace(); t != nil {
				th := time.Now()
				defer func() {
					t.event("req", t0, time.Now(), f.id, from, pos-from, fmt.Sprintf(" %d", th.Sub(t0).Microseconds()))
				}()
			}
			defer body.Close()
			err = f.fill(cl, w, body, &pos, off, sp[1])
			if errors.Is(err, errAbandoned) {
				abandoned = true
				return nil // not a failure to retry
			}
			return err
		})
		if abandoned {
			cl.err = errAbandoned
		}
		if cl.err != nil {
			return
		}
		done = sp[1] - off
	}
	cl.zero(done, n)
	cl.publish(n)
}

// fill reads a response body into the call's blocks from *pos up to end
// (object offsets; the call starts at off), publishing each block as it
// fills and telling the request's watch what came. It reads the body to
// its end, so that the connection goes back to the pool instead of being
// closed.
func (f *file) fill(cl *call, w *watch, body io.Reader, pos *int64, off, end int64) error {
	for *pos < end {
		if k := (*pos - off) / BlockSize; cl.bufs[k] == nil && cl.hold(f, w, k) {
			// A new block: read-ahead waits its turn, or gives up.
			return errAbandoned
		}
		m, err := body.Read(cl.dst(*pos-off, end-off))
		w.got(m)
		*pos += int64(m)
		// Counted before a reader can see them: a reader that has its
		// bytes finds them in Counters.
		stats.bytes.Add(int64(m))
		cl.publish(*pos - off)
		if err == io.EOF && *pos < end {
			return fmt.Errorf("reading the body: %w", io.ErrUnexpectedEOF)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the body: %w", err)
		}
	}
	// All asked for arrived; the body's end has not been seen yet.
	var one [1]byte
	if m, _ := io.ReadFull(body, one[:]); m > 0 {
		return fmt.Errorf("%w: the response is longer than the range asked for", ErrChanged)
	}
	return nil
}

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, &Error{Op: "read", Name: f.fi.Name, Err: io.ErrUnexpectedEOF}
	}
	if off >= f.fi.Size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), f.fi.Size-off)
	c := memCache()
	n := 0
	err := f.blocksOf(off, want, func(i int64, bb *blockBuf, cl *call, b []byte) {
		n += copy(p[n:], b)
		c.done(f, i, bb, cl)
	})
	if err != nil {
		return n, err
	}
	if int64(n) < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

// ViewAt appends to views the bytes of [off, off+n) (clipped to the
// object) as slices of the blocks holding them, without copying, and
// returns a release that gives the blocks back; until it is called the
// slices stay valid and unchanged (each holds a reference). A reader that
// only passes the bytes on (cat writing a raw image) saves a copy of
// every byte. On an error nothing is held.
func (f *file) ViewAt(views [][]byte, off, n int64) ([][]byte, func(), error) {
	if off < 0 || n < 0 {
		return views, nil, &Error{Op: "read", Name: f.fi.Name, Err: io.ErrUnexpectedEOF}
	}
	if off >= f.fi.Size || n == 0 {
		return views, func() {}, nil
	}
	c := memCache()
	type held struct {
		i  int64
		bb *blockBuf
		cl *call
	}
	var hs []held
	release := func() {
		for _, h := range hs {
			c.done(f, h.i, h.bb, h.cl)
		}
	}
	err := f.blocksOf(off, min(n, f.fi.Size-off), func(i int64, bb *blockBuf, cl *call, b []byte) {
		views = append(views, b)
		hs = append(hs, held{i, bb, cl})
	})
	if err != nil {
		release()
		return views, nil, err
	}
	return views, release, nil
}

// blocksOf calls fn, in order, with each block of [off, off+want) (inside
// the object) once it is there: its index, buffer and call (for
// c.done, which fn or its caller must call once done with the bytes) and
// the part of its bytes within the range. What is missing is fetched at
// once, in runs, with the aligned stretch around it: the runs are in
// flight together.
func (f *file) blocksOf(off, want int64, fn func(i int64, bb *blockBuf, cl *call, b []byte)) error {
	f.readAhead(off, want)
	first, last := off/BlockSize, (off+want-1)/BlockSize
	c := memCache()
	// A lone reader moving forward skipped the blocks since its last
	// read. Not when other reads of the object are under way: a FUSE
	// mount's reads arrive out of order, and the blocks between two of
	// them are those of the next.
	solo := f.reading.Add(1) == 1
	defer f.reading.Add(-1)
	if !solo && !c.concurrent.Load() {
		c.concurrent.Store(true)
	}
	if prev := f.lastBlock.Swap(last + 1); solo && prev > 0 && prev < first {
		// Once this read has its blocks: those before it in its call
		// are filled by then.
		defer c.skipped(f, prev, first)
	}
	lo := min(first, off/readAround*readAround/BlockSize)
	hi := min(max(last+1, ((off+want+readAround-1)/readAround*readAround)/BlockSize), f.blocks())
	if off == 0 && isDiskName(f.key) {
		// The first read of a disk file: its head, and, once that is
		// here, the rest of what opening it reads (openplan.go).
		hi = min(max(last+1, vhdx.HeadSize/BlockSize), f.blocks())
		f.planOpen()
	} else if off == 0 {
		hi = min(max(hi, firstRead/BlockSize), f.blocks())
	}
	claimed, planWaited := false, false
	for i := first; i <= last; {
		bb, cl := c.lookup(f, i)
		if bb == nil && cl == nil && f.planned.Load() && i*BlockSize >= vhdx.HeadSize && !planWaited {
			// The open's plan is on its way: what it asks for is
			// likely what this read wants (a VHDX's metadata
			// table), in fewer requests than a read-around.
			<-f.planCh
			planWaited = true
			continue
		}
		if bb == nil && cl == nil {
			if claimed {
				// Claimed and already evicted (a cache smaller than
				// one read): fetch the rest of the read alone.
				lo, hi = i, last+1
			}
			f.start(c.claim(f, max(lo, i), hi, false), false)
			claimed = true
			continue
		}
		if bb == nil {
			t0 := time.Now()
			// Blocks of a call fill in order: waiting for the last
			// one of this read first wakes the reader once per read,
			// not once per block.
			w := min(last, cl.first+cl.n-1)
			cl.want(f, w)
			<-cl.dones[w-cl.first]
			var err error
			bb, err = cl.wait(i)
			if t := trace(); t != nil && time.Since(t0) > 50*time.Microsecond {
				t.event("wait", t0, time.Now(), f.id, i*BlockSize, BlockSize, "")
			}
			if errors.Is(err, errAbandoned) {
				continue // ask for it again
			}
			if err != nil {
				return err
			}
		}
		f.passed(i)
		b := bb.b
		start := max(off, i*BlockSize)
		end := min(off+want, i*BlockSize+int64(len(b)))
		fn(i, bb, cl, b[start-i*BlockSize:end-i*BlockSize:end-i*BlockSize])
		i++
	}
	return nil
}

// readAhead keeps the stretch after a sequential reader fetched: a read
// counts as sequential when it starts where the last one ended or a
// little further (a base layer under its children is read in runs with
// small gaps, in order). As the kernel does, the stretch grows with the
// stream, four times what it has read up to ReadAhead, so that a few
// small reads in a row (a disk's header, then its region table) do not
// pull in megabytes; it is refilled when half of it is read.
func (f *file) readAhead(off, n int64) {
	if f.hinted.Load() {
		// A layer of a chain: the chain's hints name exactly the runs
		// it will read, where a child layer's own pattern (runs a few
		// blocks apart) would pass for sequential and fetch what the
		// chain never reads.
		return
	}
	f.mu.Lock()
	seq := f.lastEnd >= 0 && off >= f.lastEnd-BlockSize && off <= f.lastEnd+readAround
	if seq {
		f.streamed += n
	} else {
		f.streamed = n
	}
	f.lastEnd = off + n
	window := min(4*f.streamed, f.s.opt.ReadAhead)
	// From the read itself on: its own missing blocks join the first
	// request instead of costing one more.
	from := max(off, f.ahead)
	to := min(off+n+window, f.fi.Size)
	if !seq || f.streamed < minStream || from >= to || (to-from < window/2 && to < f.fi.Size) {
		f.mu.Unlock()
		return
	}
	f.ahead = to
	f.mu.Unlock()
	f.prefetch(from, to-from)
}

// minStream is how much a reader reads in a row before it is read ahead
// of.
const minStream = 256 << 10

// ReadAheadWindow is how far ahead of a sequential reader a disk chain
// should ask for data (Options.ReadAhead).
func (f *file) ReadAheadWindow() int64 { return f.s.opt.ReadAhead }

// PrefetchGap is how far apart two runs of this object a disk chain
// may join into one read-ahead request.
func (f *file) PrefetchGap() int64 { return hintGap }

// hintGap: on loopback, reading a gap costs the store and us about what
// one more request does when it is a quarter to one megabyte. The
// children of the bench's 4-layer chain (tools/benchchain: 186 runs of
// 4-128 KiB, eight in each 32 MiB block) at 256 KiB: 201 requests and
// 300 MB in all for the 256 MiB image, against 176 and 313 MB at 1 MiB;
// SeaweedFS's, Azurite's and our CPU the same within the noise (0.46 and
// 0.19 s against 0.45 and 0.21, medians of 7 at load 10-13; Azurite 0.79
// against 0.80). The smaller gap is kept for the bytes: over a real
// network they cost more than on loopback, where requests in flight
// hide each other's latency.
const hintGap = 256 << 10

// openGap: the ranges a disk's open reads (openplan.go) are joined into
// one request when at most this far apart: the metadata table and the
// start of the BAT, a request saved on the round trips of every open.
const openGap = 1 << 20

// Prefetch asks for the blocks of a byte range in the background: the
// disk chain's read-ahead calls it with the ranges a reader will want.
// At most InFlight of an object's read-ahead requests run at once; the
// others wait their turn, in order.
func (f *file) Prefetch(off, n int64) {
	f.hinted.Store(true)
	f.prefetch(off, n)
}

func (f *file) prefetch(off, n int64) {
	if off < 0 || n <= 0 || off >= f.fi.Size {
		return
	}
	from, to := off/BlockSize, min((off+n+BlockSize-1)/BlockSize, f.blocks())
	f.start(memCache().claim(f, from, to, true), true)
}

// start runs claimed calls; read-ahead ones (ahead) wait for one of the
// object's InFlight slots first, nearest first.
func (f *file) start(calls []*call, ahead bool) {
	if !ahead {
		for _, cl := range calls {
			go f.run(cl)
		}
		return
	}
	f.qmu.Lock()
	f.queue = append(f.queue, calls...)
	sort.Slice(f.queue, func(i, j int) bool { return f.queue[i].first < f.queue[j].first })
	f.qmu.Unlock()
	f.pump()
}

// pump starts queued read-ahead calls while slots are free.
func (f *file) pump() {
	f.qmu.Lock()
	defer f.qmu.Unlock()
	for f.running < f.s.opt.InFlight && len(f.queue) > 0 {
		cl := f.queue[0]
		f.queue = f.queue[1:]
		f.running++
		go func() {
			f.run(cl)
			f.qmu.Lock()
			f.running--
			f.qmu.Unlock()
			f.pump()
		}()
	}
}

// WrittenRanges returns the ranges of a page blob that were ever written,
// sorted [start, end) pairs; the rest reads as zeros. For any other
// object (or when the store did not say) it returns ok false. A fixed
// disk in a page blob, as Azure keeps VM disks, marks its blocks inside
// the holes as zero.
func (f *file) WrittenRanges() (ranges [][2]int64, ok bool) {
	f.pagesOnce.Do(func() {
		pr, isRanger := f.s.b.(pageRanger)
		if _, page := f.s.pages.Load(f.key); !page || !isRanger {
			return
		}
		err := f.s.do("page ranges", f.key, func(ctx context.Context, w *watch) error {
			f.reqs.Add(1)
			var err error
			f.pages, err = pr.written(ctx, f.key, f.fi.ID.Version, w.alive)
			return err
		})
		f.pagesOK = err == nil
	})
	return f.pages, f.pagesOK
}

// spans returns the parts of [off, off+n) that must be fetched: all of
// it, except for a page blob, whose unwritten ranges are zeros already.
func (f *file) spans(off, n int64) [][2]int64 {
	ranges, ok := f.WrittenRanges()
	if !ok {
		return [][2]int64{{off, off + n}}
	}
	end := off + n
	i := sort.Search(len(ranges), func(i int) bool { return ranges[i][1] > off })
	var out [][2]int64
	for ; i < len(ranges) && ranges[i][0] < end; i++ {
		s, e := max(ranges[i][0], off), min(ranges[i][1], end)
		if k := len(out); k > 0 && s-out[k-1][1] < holeGap {
			out[k-1][1] = e // a small hole costs less than a request
			continue
		}
		out = append(out, [2]int64{s, e})
	}
	return out
}

// holeGap: holes shorter than this between written ranges are fetched
// with them rather than split into two requests.
const holeGap = 256 << 10
