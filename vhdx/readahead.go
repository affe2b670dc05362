package vhdx

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Chain read-ahead.
//
// A sequential read of a chain reads each layer file in pieces that skip
// forward: layer 0 owns one run, layer 2 the next, and so on. The kernel
// follows each file's own pattern, sees jumps, and reads each piece only
// when asked, so every small run waits for the disk in turn. So the chain
// keeps its own read-ahead: when a read continues a stream, it asks the
// kernel to load the data runs of the next stretch of every layer
// (posix_fadvise WILLNEED, which does not wait for the reads). Reads that
// continue nothing (random access) load only the 64 KiB around them
// (readAround): an NTFS walk over a large disk must not pull in megabytes
// per record it touches.

const (
	// readAheadWindow is how far beyond a sequential read the layers are
	// loaded; it is refilled when less than half of it is left.
	readAheadWindow = 16 << 20
	// streamSlack is how far from a stream's end a read may start and
	// still continue it, once the stream is established: a FUSE mount's
	// read-ahead requests arrive concurrently, slightly out of order. A
	// new stream is established only by a read starting exactly where the
	// last one ended, so random reads do not pass for streams. Ahead of
	// the end the slack is also at most aheadReads reads of the size of
	// the one at hand: out-of-order arrival skips a few requests (the
	// kernel has up to 12 FUSE reads in flight), while a
	// walk of a file system's records jumps megabytes between small reads
	// (each jump within 4 MiB took a 16 KiB read of NTFS records for a
	// stream and doubled its window).
	streamSlack = 4 << 20
	aheadReads  = 16
	// streamSlots bounds the streams followed at once (several files
	// copied in parallel); the least recently used is replaced.
	streamSlots = 8
	// prefetchGap joins two ranges of one layer into one hint when at
	// most this much lies between them.
	prefetchGap = 256 << 10
)

type stream struct {
	start       int64 // where the stream began
	end         int64 // end of the furthest read of the stream
	fetched     int64 // layers are loaded up to here
	used        uint64
	established bool
}

// continues says whether a read of n bytes at off belongs to s.
func (s *stream) continues(off, n int64) bool {
	if s.used == 0 {
		return false
	}
	if !s.established {
		return off == s.end
	}
	return off >= s.end-streamSlack && off <= s.end+min(streamSlack, aheadReads*n)
}

type readAhead struct {
	// window replaces readAheadWindow when larger: a remote layer, whose
	// requests take longer than a disk's, asks for more (windowed).
	window int64
	// local says every layer is a local file: small reads get no
	// read-around hint (see readAround).
	local bool
	// gap replaces prefetchGap when larger: a remote layer, where a
	// request costs more than reading a stretch of bytes, joins runs
	// further apart into one hint.
	gap     int64
	mu      sync.Mutex
	streams [streamSlots]stream
	tick    uint64

	// around remembers which read-around stretches were hinted lately
	// (stretch offset + 1, direct-mapped): a walk of a file system reads
	// records, index blocks and small files close to one another, and
	// hinting the same stretch again for each costs a system call that
	// loads nothing. A stretch the kernel dropped meanwhile is only read
	// by the read itself, without a hint.
	around [aroundSlots]atomic.Int64
}

// aroundSlots bounds the read-around memory: 4,096 stretches of 64 KiB,
// 256 MiB of a disk, in 32 KiB.
const aroundSlots = 4096

// hinted records that the read-around stretch at a is being hinted and
// says whether it was already, lately.
func (ra *readAhead) hinted(a int64) bool {
	slot := &ra.around[uint64(a/readAround)%aroundSlots]
	if slot.Load() == a+1 {
		return true
	}
	slot.Store(a + 1)
	return false
}

// next records a read of [off, off+n) and returns the virtual range to
// prefetch, empty when the read continues no stream or the window is
// still full enough; inStream says whether it continued one.
func (ra *readAhead) next(off, n int64) (from, to int64, inStream bool) {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	ra.tick++
	end := off + n
	victim := 0
	for i := range ra.streams {
		s := &ra.streams[i]
		if s.continues(off, n) {
			s.used = ra.tick
			s.established = true
			s.end = max(s.end, end)
			// The window grows with the stream, as the kernel's does:
			// two small reads in a row (a partition table probed
			// sector by sector) are not worth 16 MiB, which a remote
			// layer would fetch.
			window := min(max(readAheadWindow, ra.window), max(readAround, 8*(s.end-s.start)))
			if s.fetched-s.end >= window/2 {
				return 0, 0, true
			}
			from = max(s.fetched, s.end)
			s.fetched = max(s.fetched, s.end+window)
			if from >= s.fetched {
				return 0, 0, true
			}
			return from, s.fetched, true
		}
		if s.used < ra.streams[victim].used {
			victim = i
		}
	}
	// A new stream: nothing to prefetch until a second read continues it.
	ra.streams[victim] = stream{start: off, end: end, fetched: end, used: ra.tick}
	return 0, 0, false
}

// readAround is the aligned stretch loaded around a read that continues
// no stream, as the kernel reads around a page fault: a file system's
// metadata and a VM's own reads sit close together, so one disk request
// of 64 KiB costs about what one of 4 KiB does and serves the neighbours
// that follow. A lone read larger than this has its own runs hinted, so
// they load in parallel instead of one disk wait each.
//
// Only where a layer is remote, though. When every layer is a local
// file, a small read is left to the kernel: it reads around a fault on
// the mapped layers itself, and a reader that groups its own neighbours
// (ntfs reads a folder's children's records in one request) gains
// nothing from the hint, which costs a system call that loads 64 KiB per
// record or index block: a cold find of 51,021 entries on NTFS took 0.39
// s with the hints and 0.34 s without (mount CPU 0.33 -> 0.29 s; ext4
// 0.23 -> 0.21 s), while hashing every file and du -s took the same.
const readAround = 64 << 10

// readAheadFor is the read-ahead a read of [off, off+n) starts.
func (c *Chain) readAheadFor(off, n int64) {
	from, to, inStream := c.ra.next(off, n)
	switch {
	case to > from:
		c.prefetch(from, to)
	case !inStream && off == 0 && !c.ra.local && c.probed.CompareAndSwap(false, true):
		// The first read at the start of a remote chain is a probe
		// of its partition table; the probe reads the backup GPT at
		// the end next, and the superblocks at 64 KiB: one round trip
		// for the three instead of one each.
		c.prefetch(0, max(n, probeHead))
		c.prefetch(max(0, c.size-readAround), c.size)
	case !inStream:
		from, to, ok := around(off, n, c.ra.local)
		if !ok || off+n <= from+readAround && c.ra.hinted(from) {
			return
		}
		c.prefetch(from, to)
	}
}

// probeHead is what the first read at offset 0 of a remote chain
// fetches: the partition tables and the superblocks of the probe
// (btrfs's at 64 KiB).
const probeHead = 2 * readAround

// around returns the range to load around a read of [off, off+n) that
// continues no stream, or false for none (a small read of a chain of
// local files, see readAround).
func around(off, n int64, local bool) (from, to int64, ok bool) {
	if local && n <= readAround {
		return 0, 0, false
	}
	a := off &^ (readAround - 1)
	return a, max(off+n, a+readAround), true
}

// hint is one range of one layer file to load.
type hint struct {
	layer    int
	off, end int64
}

// prefetch asks the kernel to load the data of the virtual range
// [from, to).
func (c *Chain) prefetch(from, to int64) {
	var buf [16]hint // a read-around rarely needs more; avoids a heap slice per read
	for _, h := range c.hints(from, to, buf[:0]) {
		c.Layers[h.layer].prefetch(h.off, h.end-h.off)
	}
}

// hints appends to out the file ranges holding the data of the virtual
// range [from, to): every layer's runs, joined per layer across small
// gaps. Errors (a bitmap that cannot be read) are left for the read itself.
func (c *Chain) hints(from, to int64, out []hint) []hint {
	to = min(to, c.size)
	for pos := from; pos < to; {
		u := pos >> c.unitShift
		within := pos - u<<c.unitShift
		n := min(int64(1)<<c.unitShift-within, to-pos)
		ref := unitRef(c.units.get(u))
		switch ref.kind() {
		case unitData:
			out = addHint(out, ref.layer(), ref.value()<<9+within, n, c.ra.gap)
		case unitMixed:
			runs, err := c.runsOf(u)
			if err != nil {
				break
			}
			for _, r := range runs.find(within) {
				if r.start >= within+n {
					break
				}
				if r.kind == unitData {
					s, e := max(r.start, within), min(r.end, within+n)
					out = addHint(out, r.layer, r.fileOff+(s-r.start), e-s, c.ra.gap)
				}
			}
		}
		pos += n
	}
	return joinHints(out, c.ra.gap)
}

// joinHints joins the hints of a layer that lie close together in its
// file but not in the disk's order: a checkpoint's disk allocates a
// block where the guest first wrote to it, so the blocks of one stretch
// of the disk may lie in any order in the file, and their runs, hinted
// in the disk's order, would each cost a request of a remote layer
// where a few would do. Sorted by layer and file offset; addHint joined
// the runs that follow one another already, so most windows are sorted.
func joinHints(hs []hint, gap int64) []hint {
	sorted := true
	for i := 1; i < len(hs) && sorted; i++ {
		a, b := hs[i-1], hs[i]
		sorted = a.layer < b.layer || a.layer == b.layer && a.off <= b.off
	}
	if !sorted {
		slices.SortFunc(hs, func(a, b hint) int {
			if a.layer != b.layer {
				return a.layer - b.layer
			}
			return int(max(-1, min(1, a.off-b.off)))
		})
	}
	gap = max(gap, prefetchGap)
	out := hs[:0]
	for _, h := range hs {
		if k := len(out); k > 0 && out[k-1].layer == h.layer && h.off-out[k-1].end <= gap {
			out[k-1].end = max(out[k-1].end, h.end)
			continue
		}
		out = append(out, h)
	}
	return out
}

// addHint joins [off, off+n) of layer to that layer's latest hint when
// the gap is small, else appends a new hint.
func addHint(hs []hint, layer int, off, n, gap int64) []hint {
	for i := len(hs) - 1; i >= 0; i-- {
		if h := &hs[i]; h.layer == layer {
			if off >= h.end && off-h.end <= max(gap, prefetchGap) {
				h.end = off + n
				return hs
			}
			break
		}
	}
	return append(hs, hint{layer, off, off + n})
}

// prefetcher is a file that can fetch a range ahead of the reads that
// will want it, as a remote object does with ranged requests in flight.
type prefetcher interface {
	Prefetch(off, n int64)
}

// gapped is a prefetcher that would rather read a gap of up to
// PrefetchGap bytes between two runs of a layer than send a request for
// each.
type gapped interface {
	PrefetchGap() int64
}

// windowed is a prefetcher that wants the chain to read further ahead
// than readAheadWindow: the read-ahead window, in bytes of the disk.
type windowed interface {
	ReadAheadWindow() int64
}
