package ntfs

import (
	"fmt"
	"io/fs"
)

// Extent maps Len bytes of a stream, starting at byte FileOff of the
// stream, to the volume bytes starting at VolOff. Extents are what an
// incremental comparison needs: which file bytes a changed volume range can
// touch, and which MFT records lie in it.
type Extent struct {
	FileOff int64
	VolOff  int64 // -1 when Sparse
	Len     int64
	// Sparse marks a hole: no clusters are allocated and the bytes read
	// as zeros.
	Sparse bool
}

// extentsOf turns the runlist of a non-resident stream into byte extents.
// They cover every cluster the runlist maps, so the last one may run past
// the stream's size to the end of its cluster (or compression unit).
func (s *stream) extentsOf() []Extent {
	out := make([]Extent, 0, len(s.runs))
	for _, r := range s.runs {
		e := Extent{FileOff: int64(r.VCN) * s.cs, VolOff: -1, Len: int64(r.Len) * s.cs, Sparse: r.Sparse}
		if !r.Sparse {
			e.VolOff = int64(r.LCN) * s.cs
		}
		out = append(out, e)
	}
	return out
}

// MFTExtents returns where $MFT, and so every MFT record, lies on the
// volume, in the order of the records. The runlist pieces held in $MFT's
// extension records (through its $ATTRIBUTE_LIST) are included.
func (v *Volume) MFTExtents() []Extent { return v.mft.extentsOf() }

// RecordOffset returns the volume byte offset of the first byte of MFT
// record num. A record may continue in another extent when clusters are
// smaller than records; MFTExtents tells. It fails with ErrRange for a
// record past $MFT or in a hole of it.
func (v *Volume) RecordOffset(num uint64) (int64, error) {
	if num >= v.mftRecords {
		return -1, kindErr(ErrRange, -1, "MFT record %d past the %d records of $MFT", num, v.mftRecords)
	}
	off := v.mft.volOffset(int64(num) * int64(v.geo.RecordSize))
	if off < 0 {
		return -1, kindErr(ErrRange, -1, "MFT record %d lies in a hole of $MFT", num)
	}
	return off, nil
}

// RecordsIn returns, in ascending order within each $MFT extent, the
// numbers of the MFT records that have a byte in the volume range
// [off, end). It reads nothing.
func (v *Volume) RecordsIn(off, end int64) []uint64 {
	rs := int64(v.geo.RecordSize)
	var out []uint64
	for _, e := range v.mft.extentsOf() {
		if e.Sparse {
			continue
		}
		lo, hi := max(off, e.VolOff), min(end, e.VolOff+e.Len)
		if lo >= hi {
			continue
		}
		first := (e.FileOff + lo - e.VolOff) / rs
		last := (e.FileOff + hi - e.VolOff - 1) / rs
		for n := first; n <= last && uint64(n) < v.mftRecords; n++ {
			out = append(out, uint64(n))
		}
	}
	return out
}

// RecordHeader is what the header of one MFT record says about it.
type RecordHeader struct {
	// Present is false when the slot holds no record: never used, a hole
	// of $MFT, or marked BAAD by chkdsk. The other fields are then zero.
	Present bool
	InUse   bool
	Seq     uint16
	// Base is the base record this record extends; zero for a base record.
	Base Ref
}

// RecordHeader reads MFT record num alone (no extension records, no
// cache) and returns its header. A record that is present but damaged
// (torn, bad attributes) gives an error, like Record.
func (v *Volume) RecordHeader(num uint64) (RecordHeader, error) {
	if num >= v.mftRecords {
		return RecordHeader{}, kindErr(ErrRange, -1, "MFT record %d past the %d records of $MFT", num, v.mftRecords)
	}
	size := int64(v.geo.RecordSize)
	b := make([]byte, size)
	if _, err := v.mft.ReadAt(b, int64(num)*size); err != nil {
		return RecordHeader{}, fmt.Errorf("ntfs: reading MFT record %d: %w", num, err)
	}
	if string(b[:4]) != "FILE" {
		return RecordHeader{}, nil
	}
	rec, err := parseRecord(b, num, v.mft.volOffset(int64(num)*size), v.geo.Clusters())
	if err != nil {
		return RecordHeader{}, err
	}
	return RecordHeader{Present: true, InUse: rec.Flags&recInUse != 0, Seq: rec.Seq, Base: rec.Base}, nil
}

// Extents returns where the open stream's bytes lie on the volume, in
// stream order, covering every cluster its runlist maps (pieces in
// extension records included). exact reports whether the volume bytes are
// the stream's bytes one to one; when it is false a caller comparing two
// states must compare the stream whole: a resident stream (no extents: its
// bytes sit inside the MFT record), a compressed or encrypted one (the
// extents hold encoded data), or one whose initialized size is short of
// its size (the bytes past it read as zeros whatever the clusters hold).
func (f *File) Extents() (exts []Extent, exact bool, err error) {
	if f.s == nil {
		return nil, false, &fs.PathError{Op: "extents", Path: f.name, Err: errIsDir}
	}
	s := f.s
	if s.isRes || s.wof != nil {
		return nil, false, nil
	}
	exact = s.cuShift == 0 && s.refuse == nil && s.init >= s.size
	return s.extentsOf(), exact, nil
}
