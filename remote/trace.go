package remote

import (
	"bufio"
	"fmt"
	"os"
	"sync"
	"time"
)

// A trace of what the remote reads did, for tuning: CKPTFS_REMOTE_TRACE=FILE
// writes one line per event, times in microseconds since the first event:
//
//	req  START END OBJECT OFF N WAIT  a request: sent, body done, its range, µs to headers
//	wait START END OBJECT OFF N       a read that waited for a request in flight
//
// It names objects by their open number, never by name: a trace may be
// shared without what it read.
type tracer struct {
	mu sync.Mutex
	w  *bufio.Writer
	f  *os.File
	t0 time.Time
}

var (
	traceOnce sync.Once
	traceT    *tracer
)

// trace returns the tracer, nil when tracing is off.
func trace() *tracer {
	traceOnce.Do(func() {
		p := os.Getenv("CKPTFS_REMOTE_TRACE")
		if p == "" {
			return
		}
		f, err := os.Create(p)
		if err != nil {
			return
		}
		traceT = &tracer{w: bufio.NewWriter(f), f: f, t0: time.Now()}
	})
	return traceT
}

func (t *tracer) us(at time.Time) int64 { return at.Sub(t.t0).Microseconds() }

func (t *tracer) event(kind string, start, end time.Time, id uint64, off, n int64, extra string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	fmt.Fprintf(t.w, "%s %d %d %d %d %d%s\n", kind, t.us(start), t.us(end), id, off, n, extra)
	t.mu.Unlock()
}

// FlushTrace writes out what the trace holds (the process is about to
// exit).
func FlushTrace() {
	if t := trace(); t != nil {
		t.mu.Lock()
		t.w.Flush()
		t.f.Sync()
		t.mu.Unlock()
	}
}
