package vhdx

import (
	"bytes"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	good := goodVHDX(t)
	open := func(b []byte) *Disk {
		d, err := NewDisk(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		d.Name = "x.vhdx"
		return d
	}
	if p := open(good).Check(); len(p) != 0 {
		t.Fatalf("clean file: %v", p)
	}
	// Block 3 made to point at block 0's data: an overlap.
	d0 := open(good)
	_, off0 := d0.BlockInfo(0)
	overlap := messVHDX(good, false, func(b []byte) { le64(b, batFirst+3*8, uint64(off0)|payloadFullyPresent) })
	p := open(overlap).Check()
	if len(p) != 1 || !strings.Contains(p[0].What, "overlaps") {
		t.Fatalf("overlap: %v", p)
	}
	pastEnd := messVHDX(good, false, func(b []byte) { le64(b, batFirst+8, 1<<40|payloadFullyPresent) })
	if p := open(pastEnd).Check(); len(p) != 1 || !strings.Contains(p[0].What, "outside the file") {
		t.Fatalf("past end: %v", p)
	}
	oneHeader := messVHDX(good, false, func(b []byte) { b[header2Off+200]++ })
	if p := open(oneHeader).Check(); len(p) != 1 || !strings.Contains(p[0].What, "header 2") {
		t.Fatalf("damaged header copy: %v", p)
	}
}
