package remote

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// The rules that bound one request, of every backend (source.do sends
// them all through a watch):
//
//   - its response (headers; each page of a listing) must come within
//     Options.Timeout;
//   - its body may not stall: no byte for Timeout fails it;
//   - its body must arrive at Options.MinRate at least, averaged over
//     each stretch of Timeout (as curl's --speed-limit/--speed-time): a
//     server trickling bytes fails in bounded time, while a slow but
//     steady link reads a large request to its end, however long that
//     takes (a whole-body timeout failed a 16 MiB read-ahead request on a
//     link slower than about 3.5 Mbit/s shared by 4 in flight, although
//     bytes kept coming).
//
// Time the reader spends holding a body back on purpose (a read-ahead
// request waiting for its reader, throttle.go) does not count: the store
// is not slow then, we are not reading.
//
// A request that breaks a rule is cancelled; source.do reports why and
// retries it like a network error (a retry asks only for what is still
// missing).

// defaultMinRate is Options.MinRate's default, per request: 16 KiB/s, so
// that 4 requests in flight need half a megabit per second. A server
// sending less is taken as stuck.
const defaultMinRate = 16 << 10

// stallError is why a watch cancelled a request.
type stallError struct {
	msg string
}

func (e *stallError) Error() string { return e.msg }

// watch enforces the rules on one try of one request. Its methods may be
// called from the goroutine reading the body while its timer checks.
type watch struct {
	timeout time.Duration
	minRate int64 // bytes per second; 0: no floor
	cancel  context.CancelCauseFunc
	base    time.Time

	bytes atomic.Int64 // body bytes so far
	last  atomic.Int64 // ns since base: the latest byte, the start or a resume

	mu       sync.Mutex
	timer    *time.Timer
	stopped  bool
	paused   bool
	body     bool  // a byte came: the rate floor applies
	winStart int64 // ns since base: the rate's current stretch began
	winBytes int64 // bytes when it began
	verdict  error // the rule broken, once the watch cancelled
}

// startWatch returns the context of one try of a request and its watch;
// the caller must call stop once the try is over.
func startWatch(timeout time.Duration, minRate int64) (context.Context, *watch) {
	ctx, cancel := context.WithCancelCause(context.Background())
	w := &watch{timeout: timeout, minRate: max(minRate, 0), cancel: cancel, base: time.Now()}
	w.mu.Lock()
	w.timer = time.AfterFunc(timeout, w.check)
	w.mu.Unlock()
	return ctx, w
}

func (w *watch) now() int64 { return int64(time.Since(w.base)) }

// got records n body bytes arriving.
func (w *watch) got(n int) {
	if n <= 0 {
		return
	}
	w.last.Store(w.now())
	if w.bytes.Add(int64(n)) == int64(n) {
		// The first bytes: the rate is measured from here (the wait
		// for them was bounded by the stall rule).
		w.mu.Lock()
		if !w.body {
			w.body = true
			w.winStart, w.winBytes = w.now(), 0
		}
		w.mu.Unlock()
	}
}

// alive records a sign of life that carries no body bytes (a page of a
// listing came): the wait for the next answer starts again.
func (w *watch) alive() {
	w.last.Store(w.now())
}

// pause stops the clock while the reader holds the body back; resume
// starts it again, as if the request had just started sending.
func (w *watch) pause() {
	w.mu.Lock()
	w.paused = true
	w.mu.Unlock()
}

func (w *watch) resume() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.paused = false
	now := w.now()
	w.last.Store(now)
	w.winStart, w.winBytes = now, w.bytes.Load()
	if !w.stopped && w.verdict == nil {
		w.timer.Reset(w.timeout)
	}
}

// check runs on the timer: it cancels the request when a rule is
// broken, else sets the timer to the next moment one may be.
func (w *watch) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || w.paused || w.verdict != nil {
		return // resume sets the timer again
	}
	now := w.now()
	t := int64(w.timeout)
	last := w.last.Load()
	if now-last >= t {
		if w.bytes.Load() == 0 {
			w.fail("no answer within %v", w.timeout)
		} else {
			w.fail("no data for %v", w.timeout)
		}
		return
	}
	next := last + t
	if w.body && w.minRate > 0 {
		if span := now - w.winStart; span >= t {
			got := w.bytes.Load() - w.winBytes
			if float64(got) < float64(w.minRate)*float64(span)/1e9 {
				w.fail("data came at %s over %v, below the floor of %s",
					rateText(float64(got)*1e9/float64(span)), time.Duration(span).Round(time.Millisecond), rateText(float64(w.minRate)))
				return
			}
			w.winStart, w.winBytes = now, w.bytes.Load()
		}
		next = min(next, w.winStart+t)
	}
	w.timer.Reset(time.Duration(max(next-now, int64(time.Millisecond))))
}

func (w *watch) fail(format string, args ...any) {
	w.verdict = &stallError{fmt.Sprintf(format, args...)}
	w.cancel(w.verdict)
}

// stop ends the watch and returns the rule the request broke, nil when
// none was.
func (w *watch) stop() error {
	w.mu.Lock()
	w.stopped = true
	w.timer.Stop()
	v := w.verdict
	w.mu.Unlock()
	w.cancel(nil)
	return v
}

// rateText writes bytes per second for a message.
func rateText(r float64) string {
	switch {
	case r >= 1<<20:
		return fmt.Sprintf("%.1f MiB/s", r/(1<<20))
	case r >= 1<<10:
		return fmt.Sprintf("%.1f KiB/s", r/(1<<10))
	}
	return fmt.Sprintf("%.0f B/s", r)
}

// tuneTransport sets what every backend's HTTP transport shares: a pool
// of idle connections large enough for the read-ahead. It sets no
// timeout of its own: the watch bounds each request.
func tuneTransport(tr *http.Transport) {
	tr.MaxIdleConnsPerHost = maxIdle
}
