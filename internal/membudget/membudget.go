// Package membudget bounds in bytes what the readers' caches hold
// together, across every volume a process opens. Each cache is bounded on
// its own (in entries or bytes, per volume), but a walk across many
// checkpoints' volumes adds them up: 20 checkpoints of a big volume would
// hold gigabytes. A cache opens an Account with a Budget, reports what it
// adds and drops, and says it was used; when the budget's total passes its
// limit, the coldest accounts (least recently used) shed their older
// entries, then all of them, until the total is back under.
//
// The hot path is cheap: Touch is two atomic loads (and a store when the
// budget's clock moved), Add a few atomic adds; the lock is taken only to
// trim, when the limit is passed. A budget without a limit (the zero
// value, and Default until SetLimit) only counts.
package membudget

import (
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"weak"
)

// Default is the budget the readers' caches open their accounts with. Its
// limit is 0 (no bound) until a program sets one: a library user gets
// each cache's own bound, as before.
var Default = &Budget{}

// Budget is a bound on the bytes a set of accounts hold together. It is
// safe for concurrent use.
type Budget struct {
	limit atomic.Int64 // bytes; 0: no bound
	used  atomic.Int64 // bytes the accounts hold together
	// clock counts the bytes ever added: an account's last use is the
	// clock when it was last touched, so the coldest is the one whose
	// last use is oldest.
	clock  atomic.Int64
	peak   atomic.Int64 // highest used seen by Add since ResetPeak
	maxAdd atomic.Int64 // largest single Add since ResetPeak

	trimming sync.Mutex // one trimmer at a time
	mu       sync.Mutex // guards accounts
	accounts []weak.Pointer[Account]
	pruneAt  int // len(accounts) at which dead ones are dropped
}

// SetLimit sets the bound in bytes (0 or less: none) and trims to it.
func (b *Budget) SetLimit(n int64) {
	b.limit.Store(max(n, 0))
	b.trim()
}

// Limit returns the bound in bytes, 0 when there is none.
func (b *Budget) Limit() int64 { return b.limit.Load() }

// Used returns the bytes the accounts hold together.
func (b *Budget) Used() int64 { return b.used.Load() }

// Peak returns the highest total seen since ResetPeak, and the largest
// single addition: the total passes the limit by at most about one
// addition per cache being filled at that moment, until trimmed.
func (b *Budget) Peak() (peak, maxAdd int64) { return b.peak.Load(), b.maxAdd.Load() }

// ResetPeak starts a new Peak measurement from the current total.
func (b *Budget) ResetPeak() {
	b.peak.Store(b.used.Load())
	b.maxAdd.Store(0)
}

// Account is one cache's share of a budget.
type Account struct {
	b    *Budget
	name string
	held *atomic.Int64 // apart from the account: its cleanup reads it
	last atomic.Int64  // the budget's clock at the last Touch or Add
	shed func(all bool)
}

// Open opens an account for a cache named name (for Usage). shed drops
// the cache's older entries (its older generation, the colder half), or
// all of them when all is set, reporting what it drops with Add; it is
// called with none of the cache's locks held, and may run concurrently
// with the cache's own use. An account needs no closing: when its cache
// is no longer reachable, what it held is taken off the total.
func (b *Budget) Open(name string, shed func(all bool)) *Account {
	a := &Account{b: b, name: name, held: new(atomic.Int64), shed: shed}
	a.last.Store(b.clock.Load())
	runtime.AddCleanup(a, func(held *atomic.Int64) { b.used.Add(-held.Swap(0)) }, a.held)
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.accounts) >= b.pruneAt {
		b.accounts = slices.DeleteFunc(b.accounts, func(w weak.Pointer[Account]) bool { return w.Value() == nil })
		b.pruneAt = max(2*len(b.accounts), 64)
	}
	b.accounts = append(b.accounts, weak.Make(a))
	return a
}

// Touch records a use of the cache (a hit).
func (a *Account) Touch() {
	if a == nil {
		return
	}
	if c := a.b.clock.Load(); a.last.Load() != c {
		a.last.Store(c)
	}
}

// Add records n bytes added to the cache (negative: dropped). It reports
// whether the budget is over its limit: the caller calls Trim then, once
// it holds none of its own locks.
func (a *Account) Add(n int64) (over bool) {
	if a == nil || n == 0 {
		return false
	}
	a.held.Add(n)
	b := a.b
	used := b.used.Add(n)
	if n < 0 {
		return false
	}
	a.last.Store(b.clock.Add(n))
	if used > b.peak.Load() {
		b.peak.Store(used) // racy max: close enough for a measurement
	}
	if n > b.maxAdd.Load() {
		b.maxAdd.Store(n)
	}
	lim := b.limit.Load()
	return lim > 0 && used > lim
}

// Trim brings the budget back under its limit (see Add).
func (a *Account) Trim() {
	if a != nil {
		a.b.trim()
	}
}

// Held returns the bytes the account holds.
func (a *Account) Held() int64 { return a.held.Load() }

// trim sheds the coldest accounts' entries until the total is under the
// limit by an eighth of it (so that the next additions do not trim again
// at once). A cache that passes the limit while another trims waits for
// it, then looks again: so the total passes the limit by at most one
// addition per goroutine filling a cache.
func (b *Budget) trim() {
	for {
		lim := b.limit.Load()
		if lim <= 0 || b.used.Load() <= lim {
			return
		}
		b.trimming.Lock()
		before := b.used.Load()
		if before > lim {
			b.shedTo(lim - lim/8)
		}
		progress := b.used.Load() < before
		b.trimming.Unlock()
		if !progress {
			return // nothing left to shed, or another trimmed already
		}
	}
}

// shedTo sheds entries until the total is at most target: first the
// accounts not used lately, coldest first, drop everything; then the
// ones in use drop their older entries, coldest first; then everything.
func (b *Budget) shedTo(target int64) {
	accts := b.live()
	slices.SortFunc(accts, func(x, y *Account) int { return int(x.last.Load() - y.last.Load()) })
	// Used lately: touched since the last half-limit of additions (the
	// caches of the volume being walked now).
	lately := b.clock.Load() - b.limit.Load()/2
	for pass := range 3 {
		for _, a := range accts {
			if b.used.Load() <= target {
				return
			}
			if a.held.Load() <= 0 {
				continue
			}
			switch {
			case pass == 0 && a.last.Load() < lately:
				a.shed(true)
			case pass == 1:
				a.shed(false)
			case pass == 2:
				a.shed(true)
			}
		}
	}
}

// live returns the accounts whose caches are still reachable.
func (b *Budget) live() []*Account {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*Account, 0, len(b.accounts))
	for _, w := range b.accounts {
		if a := w.Value(); a != nil {
			out = append(out, a)
		}
	}
	return out
}

// Usage is what one account holds.
type Usage struct {
	Name  string
	Bytes int64
}

// Usage returns what the live accounts hold, by name (accounts of one
// name summed), largest first.
func (b *Budget) Usage() []Usage {
	sum := map[string]int64{}
	for _, a := range b.live() {
		sum[a.name] += a.held.Load()
	}
	out := make([]Usage, 0, len(sum))
	for n, v := range sum {
		out = append(out, Usage{n, v})
	}
	slices.SortFunc(out, func(x, y Usage) int {
		if x.Bytes != y.Bytes {
			return int(y.Bytes - x.Bytes)
		}
		return strings.Compare(x.Name, y.Name)
	})
	return out
}
