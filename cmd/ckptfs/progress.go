package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"golang.org/x/term"
)

// newProgress returns a progress callback drawing one status line on
// stderr when it is a terminal (and the output is not JSON for a script),
// and a function that clears it. The line gives done and total bytes, the
// percentage, the rate and the time left:
//
//	exporting  37%  380 MiB / 1.0 GiB  95 MiB/s  0:07 left
func newProgress(what string, quiet bool) (func(done, total int64), func()) {
	if quiet || !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil, func() {}
	}
	p := &progressLine{w: os.Stderr, what: what, now: time.Now}
	return p.update, p.finish
}

// progressLine renders progress on one terminal line.
type progressLine struct {
	w    io.Writer
	what string
	now  func() time.Time

	mu sync.Mutex
	rateMeter
	drawn    time.Time
	width    int // of the last line drawn, to blank it
	finished bool
}

// redrawEvery keeps the line from flickering and from costing the work
// it reports on.
const redrawEvery = 200 * time.Millisecond

func (p *progressLine) update(done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.add(now, done)
	if p.finished || (now.Sub(p.drawn) < redrawEvery && done < total) {
		return
	}
	p.drawn = now
	p.draw(p.line(done, total))
}

func (p *progressLine) line(done, total int64) string {
	var b strings.Builder
	b.WriteString(p.what)
	if total > 0 {
		fmt.Fprintf(&b, " %3d%%  %s / %s", done*100/total, humanize.IBytes(uint64(done)), humanize.IBytes(uint64(total)))
	} else {
		fmt.Fprintf(&b, "  %s", humanize.IBytes(uint64(done)))
	}
	if rate, ok := p.rate(); ok {
		fmt.Fprintf(&b, "  %s/s", humanize.IBytes(uint64(rate)))
		if total > done && rate > 0 {
			b.WriteString("  " + clock(time.Duration(float64(total-done)/rate*float64(time.Second))) + " left")
		}
	}
	return b.String()
}

func (p *progressLine) draw(s string) {
	pad := max(p.width-len(s), 0)
	fmt.Fprintf(p.w, "\r%s%s", s, strings.Repeat(" ", pad))
	p.width = len(s)
}

func (p *progressLine) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.width > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
	}
	p.finished = true
}

// rateMeter measures bytes per second over the last few seconds, and
// says nothing until it has watched for long enough: a rate from the
// first milliseconds (a cached first block) reads as terabytes per second.
type rateMeter struct {
	samples []rateSample
}

type rateSample struct {
	at   time.Time
	done int64
}

const (
	rateWindow  = 5 * time.Second
	rateMinSpan = time.Second
)

func (m *rateMeter) add(at time.Time, done int64) {
	m.samples = append(m.samples, rateSample{at, done})
	for len(m.samples) > 2 && at.Sub(m.samples[1].at) > rateWindow {
		m.samples = m.samples[1:]
	}
}

// rate is bytes per second across the window, once it spans a second.
func (m *rateMeter) rate() (float64, bool) {
	if len(m.samples) < 2 {
		return 0, false
	}
	first, last := m.samples[0], m.samples[len(m.samples)-1]
	span := last.at.Sub(first.at)
	if span < rateMinSpan || last.done < first.done {
		return 0, false
	}
	return float64(last.done-first.done) / span.Seconds(), true
}

// clock writes a duration as h:mm:ss or m:ss.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
