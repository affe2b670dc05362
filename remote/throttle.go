package remote

import (
	"sync"
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
// aheadBudget past the furthest block a reader has read of the object;
// there it waits, leaving the rest in the socket (the store has sent it,
// or stops sending while the socket's buffer is full: the request is in
// flight all the same, its latency hidden). The reader, moving on, lets
// it go on. A request that a reader waits for is never held back, nor
// one once it has waited maxHold in all: read-ahead of a reader that went
// elsewhere, or that is slower than the store, is read as it comes, as
// before, and no request waits anywhere near its timeout. The block
// memory in use is then about the budget per object being read plus what
// the reader holds, recycled through the pool while still in the caches.
const (
	aheadBudget = 2 << 20
	maxHold     = time.Second
)

// held wakes the calls held back when a reader moves on.
var held struct {
	mu      sync.Mutex
	waiters int
	wake    chan struct{}
}

// passed records that a reader got block i of f.
func (f *file) passed(i int64) {
	for {
		p := f.readTo.Load()
		if p > i {
			return
		}
		if f.readTo.CompareAndSwap(p, i+1) {
			break
		}
	}
	wakeHeld()
}

// want records that a reader waits for the call's blocks up to block
// i: they are not held back.
func (cl *call) want(i int64) {
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
		wakeHeld()
	}
}

// wakeHeld wakes the held calls to look again.
func wakeHeld() {
	held.mu.Lock()
	if held.waiters > 0 && held.wake != nil {
		close(held.wake)
		held.wake = nil
	}
	held.mu.Unlock()
}

// mayFill says whether a call of f may fill its block k (from its first)
// now.
func (cl *call) mayFill(f *file, k int64) bool {
	return k < cl.need.Load() || (cl.first+k)*BlockSize < f.readTo.Load()*BlockSize+aheadBudget
}

// hold waits, before a read-ahead call of f fills its block k (from its
// first), while that block is more than aheadBudget past what readers
// have read, nobody waits for it and the call has not waited maxHold yet.
func (cl *call) hold(f *file, k int64) {
	if !cl.ahead || cl.held >= maxHold || cl.mayFill(f, k) {
		return
	}
	t0 := time.Now()
	timer := time.NewTimer(maxHold - cl.held)
	defer timer.Stop()
	defer func() { cl.held += time.Since(t0) }()
	for {
		held.mu.Lock()
		if cl.mayFill(f, k) {
			held.mu.Unlock()
			return
		}
		if held.wake == nil {
			held.wake = make(chan struct{})
		}
		ch := held.wake
		held.waiters++
		held.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			cl.held = maxHold
		}
		held.mu.Lock()
		held.waiters--
		held.mu.Unlock()
		if cl.held >= maxHold {
			return
		}
	}
}
