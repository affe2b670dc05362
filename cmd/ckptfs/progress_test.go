package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	var out bytes.Buffer
	clockNow := time.Unix(1000, 0)
	p := &progressLine{w: &out, what: "exporting", now: func() time.Time { return clockNow }}
	const total = 1 << 30
	// The first update, a fast cached block: no rate yet.
	p.update(64<<20, total)
	if s := out.String(); strings.Contains(s, "/s") || !strings.Contains(s, "64 MiB / 1.0 GiB") || !strings.Contains(s, "  6%") {
		t.Errorf("first line %q", s)
	}
	// Two seconds later at 100 MiB/s: rate and time left appear.
	for i := 1; i <= 20; i++ {
		clockNow = clockNow.Add(100 * time.Millisecond)
		p.update(64<<20+int64(i)*10<<20, total)
	}
	s := out.String()
	last := s[strings.LastIndex(s, "\r")+1:]
	if !strings.Contains(last, "100 MiB/s") || !strings.Contains(last, "0:08 left") || !strings.Contains(last, "264 MiB / 1.0 GiB") {
		t.Errorf("line after 2 s: %q", last)
	}
	p.finish()
	if !strings.HasSuffix(out.String(), "\r") {
		t.Errorf("finish did not clear the line")
	}
	if clock(3725*time.Second) != "1:02:05" || clock(65*time.Second) != "1:05" {
		t.Error(clock(3725*time.Second), clock(65*time.Second))
	}
}
