package remote

import (
	"errors"
	"sync/atomic"
	"time"
)

// Read-ahead that stays in the CPU's caches.
//
// A sequential reader keeps several read-ahead requests in flight, tens of
// megabytes of them. Filling their blocks as fast as the store sends
// spreads the bytes over all that memory: each block is written long
// before the reader gets to it, cold in the CPU caches when it does and
// cold again when its memory is filled next (and memory first used
// faults in a page per 4 KiB). Reading a socket into such memory cost
// about twice what a plain download into one buffer does.
//
// So a read-ahead request reads its body into blocks only up to
// aheadBudget past the block a reader of the object read latest;
// there it waits, leaving the rest in the socket (the store has sent it,
// or stops sending while the socket's buffer is full: the request is in
// flight all the same, its latency hidden). The reader, moving on, lets
// it go on. A request that a reader waits for is never held back. One
// held maxHold in all is abandoned: its connection closed, the blocks it
// filled kept, the others left for whoever reads them to ask for again
// (read-ahead of a reader that went elsewhere, or that is much slower
// than the store, must neither fill memory nobody reads nor keep a
// connection the store may drop; the time held does not count against
// the request's timeout, deadline.go). The block memory in use is then about the budget per
// object being read plus what the reader holds, recycled through the
// pool while still in the caches.
const (
	aheadBudget = 1 << 20
	holdMin     = 1 << 20
)

// holdFor is how long a read-ahead call may wait in all, in
// nanoseconds (5 s; the tests shorten it).
var holdFor atomic.Int64

func init() { holdFor.Store(int64(5 * time.Second)) }

func maxHold() time.Duration { return time.Duration(holdFor.Load()) }

// errAbandoned ends a read-ahead call held maxHold: its readers ask for
// the blocks again.
var errAbandoned = errors.New("remote: read-ahead abandoned")

// heldCall is a read-ahead call waiting in hold: ch is closed when
// readers of its object got to block at-budget, or want it.
type heldCall struct {
	cl *call
	at int64 // the block it waits to fill
	ch chan struct{}
}

// passed records that a reader got block i of f, and lets the calls
// held back until then go on. The latest read counts, not the furthest:
// one read at the end of a disk (a probe for a backup partition table)
// must not let every read-ahead call of the object run.
func (f *file) passed(i int64) {
	if f.readTo.Swap(i+1) <= i {
		f.wakeHeld()
	}
}

// want records that a reader waits for the blocks of a call of f up to
// block i: they are not held back.
func (cl *call) want(f *file, i int64) {
	k := i - cl.first + 1
	for {
		n := cl.need.Load()
		if n >= k {
			return
		}
		if cl.need.CompareAndSwap(n, k) {
			break
		}
	}
	if cl.ahead {
		f.wakeHeld()
	}
}

// wakeHeld wakes the held calls of f that may go on.
func (f *file) wakeHeld() {
	if f.nheld.Load() == 0 {
		return
	}
	f.hmu.Lock()
	defer f.hmu.Unlock()
	for j := 0; j < len(f.held); {
		h := f.held[j]
		if !h.cl.mayFill(f, h.at) {
			j++
			continue
		}
		close(h.ch)
		f.held[j] = f.held[len(f.held)-1]
		f.held = f.held[:len(f.held)-1]
		f.nheld.Add(-1)
	}
}

// mayFill says whether a call of f may fill its block at (from the
// object's start) now.
func (cl *call) mayFill(f *file, at int64) bool {
	return at-cl.first < cl.need.Load() || at*BlockSize < f.readTo.Load()*BlockSize+aheadBudget
}

// hold waits, before a read-ahead call of f fills its block k (from its
// first), while that block is more than aheadBudget past what readers
// have read and nobody waits for it, and says whether the call should be
// abandoned: it waited maxHold in all. Small calls are never held: their
// bytes are in the socket's buffer anyway, and a held call keeps one of
// the object's InFlight slots (a child layer's runs are many small
// requests).
func (cl *call) hold(f *file, w *watch, k int64) (abandon bool) {
	at := cl.first + k
	if !cl.ahead || cl.size <= holdMin || cl.mayFill(f, at) {
		return false
	}
	if cl.held >= maxHold() {
		return true
	}
	t0 := time.Now()
	defer func() { cl.held += time.Since(t0) }()
	// Counted before looking again: a reader moving on changes readTo
	// (or need) before it looks at nheld, so one of the two sees the
	// other.
	f.hmu.Lock()
	f.nheld.Add(1)
	if cl.mayFill(f, at) {
		f.nheld.Add(-1)
		f.hmu.Unlock()
		return false
	}
	h := &heldCall{cl: cl, at: at, ch: make(chan struct{})}
	f.held = append(f.held, h)
	f.hmu.Unlock()
	// Held on purpose: the store is not slow, the request's clock stops.
	w.pause()
	defer w.resume()
	timer := time.NewTimer(maxHold() - cl.held)
	defer timer.Stop()
	select {
	case <-h.ch:
		return false
	case <-timer.C:
	}
	f.hmu.Lock()
	defer f.hmu.Unlock()
	for j, o := range f.held {
		if o == h {
			f.held[j] = f.held[len(f.held)-1]
			f.held = f.held[:len(f.held)-1]
			f.nheld.Add(-1)
			return true
		}
	}
	return false // woken as the timer fired
}
