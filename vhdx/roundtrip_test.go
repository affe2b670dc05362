package vhdx

import (
	"reflect"
	"testing"
)

// Every encoder paired with its decoder: encode → decode gives the value
// back, and the decoded value encodes to the same bytes.
func TestEncodersRoundTrip(t *testing.T) {
	h := header{Sequence: 9, FileWriteGUID: NewGUID(), DataWriteGUID: NewGUID(), LogGUID: NewGUID(),
		Version: 1, LogLength: mib, LogOffset: mib}
	hb := h.encode()
	h2, err := decodeHeader(hb, 0)
	if err != nil || h2 != h {
		t.Fatalf("header: %+v %v", h2, err)
	}
	if !reflect.DeepEqual(h2.encode(), hb) {
		t.Fatal("header bytes differ after a round trip")
	}

	rs := []regionEntry{{GUID: guidBATRegion, Offset: 3 * mib, Length: mib, Required: true},
		{GUID: NewGUID(), Offset: 9 * mib, Length: 2 * mib}}
	rb := encodeRegionTable(rs)
	rs2, err := decodeRegionTable(rb, 0)
	if err != nil || !reflect.DeepEqual(rs, rs2) || !reflect.DeepEqual(encodeRegionTable(rs2), rb) {
		t.Fatalf("region table: %+v %v", rs2, err)
	}

	ms := []metadataEntry{{ItemID: guidFileParameters, Offset: 65536, Length: 8, IsRequired: true},
		{ItemID: guidVirtualDiskSize, Offset: 65544, Length: 8, IsVirtualDisk: true, IsRequired: true},
		{ItemID: NewGUID(), Offset: 70000, Length: 3, IsUser: true}}
	mb := encodeMetadataTable(ms)
	ms2, err := decodeMetadataTable(mb, 0)
	if err != nil || !reflect.DeepEqual(ms, ms2) || !reflect.DeepEqual(encodeMetadataTable(ms2), mb) {
		t.Fatalf("metadata table: %+v %v", ms2, err)
	}

	link := NewGUID()
	kv := [][2]string{{"parent_linkage", linkageText(link)}, {"relative_path", `..\Ünïcode\base.vhdx`},
		{"absolute_win32_path", `C:\VMs\base.vhdx`}, {"volume_path", `\\?\Volume{x}\base.vhdx`}}
	lb := encodeParentLocator(kv)
	loc, err := decodeParentLocator(lb, 0)
	if err != nil {
		t.Fatal(err)
	}
	if loc.Linkage != link || loc.RelativePath != kv[1][1] || loc.AbsolutePath != kv[2][1] || loc.VolumePath != kv[3][1] {
		t.Fatalf("parent locator: %+v", loc)
	}
	for _, p := range kv {
		if loc.Entries[p[0]] != p[1] {
			t.Errorf("entry %s = %q", p[0], loc.Entries[p[0]])
		}
	}

	guid := NewGUID()
	e := encodeLogEntry(logEntryParams{seq: 5, tail: 0, guid: guid, flushed: 10 * mib, last: 11 * mib},
		[]logWrite{{off: 4 * mib, data: pageOf(7)}, {off: 8 * mib, zeroLen: 3 * logSectorSize}})
	ring := logRing{r: readerOf(e), size: int64(len(e)), base: 0, length: int64(len(e))}
	le, err := ring.parseEntry(0, guid)
	if err != nil || le == nil || le.seq != 5 || le.descCount != 2 || le.flushed != 10*mib || le.last != 11*mib {
		t.Fatalf("log entry: %+v %v", le, err)
	}
}

type byteReader []byte

func (b byteReader) ReadAt(p []byte, off int64) (int, error) {
	n := copy(p, b[off:])
	return n, nil
}

func readerOf(b []byte) byteReader { return byteReader(b) }
