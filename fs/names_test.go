package fs

import (
	"testing"
	"time"
)

func TestTimeName(t *testing.T) {
	tm := time.Date(2026, 11, 20, 11, 15, 0, 0, time.FixedZone("CET", 3600))
	if got := timeName(tm); got != "2026-11-20T10.15.00" {
		t.Errorf("timeName = %q", got)
	}
}
