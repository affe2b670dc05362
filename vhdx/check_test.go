package vhdx

import (
	"bytes"
	"encoding/binary"
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
	// Region table 2 is read only by check: a damaged copy must not be
	// reported clean (the same flip in table 1 is found by opening).
	rt2 := messVHDX(good, false, func(b []byte) { b[regionTable2Off+100]++ })
	if p := open(rt2).Check(); len(p) != 1 || !strings.Contains(p[0].What, "region table 2") || p[0].Off != regionTable2Off {
		t.Fatalf("damaged region table 2: %v", p)
	}
	rt1 := messVHDX(good, false, func(b []byte) { b[regionTable1Off+100]++ })
	if p := open(rt1).Check(); len(p) != 1 || !strings.Contains(p[0].What, "region table 1") {
		t.Fatalf("damaged region table 1: %v", p)
	}
	// Both valid but different: a region entry's non-required flag
	// flipped in table 2 only, checksum fixed.
	differ := messVHDX(good, false, func(b []byte) {
		le32(b, regionTable2Off+8, 3) // one more (unknown, optional) entry...
		copy(b[regionTable2Off+16+64:], bytes.Repeat([]byte{0x11}, 16))
		le64(b, regionTable2Off+16+64+16, 8<<20)
		le32(b, regionTable2Off+16+64+24, 1<<20)
		putCRC(b[regionTable2Off:regionTable2Off+regionTableSize], 4)
	})
	if p := open(differ).Check(); len(p) != 1 || !strings.Contains(p[0].What, "differs") {
		t.Fatalf("differing region tables: %v", p)
	}
	// Reserved bits in a BAT entry: read as the block it names, reported.
	reserved := messVHDX(good, false, func(b []byte) {
		e := binary.LittleEndian.Uint64(b[batFirst:])
		le64(b, batFirst, e|1<<12)
	})
	d := open(reserved)
	if st, _ := d.BlockInfo(0); st != BlockPresent {
		t.Fatalf("block with reserved bits: state %v", st)
	}
	if p := d.Check(); len(p) != 1 || !strings.Contains(p[0].What, "reserved bits") {
		t.Fatalf("reserved bits: %v", p)
	}
	// No Page 83 Data item: the entry renamed to an unknown optional one.
	noPage83 := messVHDX(good, false, func(b []byte) {
		for i := 0; i < 16; i++ {
			at := newMetaOff + 32 + 32*i
			if GUID(b[at:at+16]) == guidVirtualDiskID {
				copy(b[at:at+16], bytes.Repeat([]byte{0x22}, 16))
				b[at+24] &^= 4 // not required
			}
		}
	})
	d = open(noPage83)
	if p := d.Check(); len(p) != 1 || !strings.Contains(p[0].What, "Page 83") {
		t.Fatalf("missing Page 83: %v", p)
	}
}
