package ntfs

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// Record header flags.
const (
	recInUse     uint16 = 0x0001
	recDirectory uint16 = 0x0002
)

// Ref is an MFT reference: a record number and the sequence number that
// record had when the reference was made. Two directory entries with the
// same Ref are hard links to one file.
type Ref struct {
	Record uint64 // MFT record number (48 bits on disk)
	Seq    uint16 // sequence number; 0 in references that do not check it
}

func refFrom(v uint64) Ref { return Ref{Record: v & (1<<48 - 1), Seq: uint16(v >> 48)} }

// String prints the reference as record-sequence, like sleuthkit.
func (r Ref) String() string {
	return strconv.FormatUint(r.Record, 10) + "-" + strconv.FormatUint(uint64(r.Seq), 10)
}

// mftRecord is one decoded MFT record (base or extension).
type mftRecord struct {
	Num   uint64
	Seq   uint16
	Links uint16
	Flags uint16
	Base  Ref // zero for a base record
	Attrs []*attribute
}

// parseRecord fixes up and decodes the MFT record in b (which it modifies),
// read from byte offset off of the volume.
func parseRecord(b []byte, num uint64, off int64, clusters uint64) (*mftRecord, error) {
	r := &mftRecord{}
	if err := parseRecordInto(r, b, num, off, clusters); err != nil {
		return nil, err
	}
	return r, nil
}

// parseRecordInto is parseRecord filling r, which the caller allocated
// (with the record's bytes, in readRecordNear).
func parseRecordInto(r *mftRecord, b []byte, num uint64, off int64, clusters uint64) error {
	if string(b[:4]) != "FILE" {
		if string(b[:4]) == "BAAD" {
			return kindErr(ErrFixup, off, "MFT record %d is marked BAAD", num)
		}
		return formatErr(off, "MFT record %d has signature %q", num, b[:4])
	}
	if err := applyFixups(b, off); err != nil {
		return fmt.Errorf("MFT record %d: %w", num, err)
	}
	*r = mftRecord{
		Num:   num,
		Seq:   binary.LittleEndian.Uint16(b[0x10:]),
		Links: binary.LittleEndian.Uint16(b[0x12:]),
		Flags: binary.LittleEndian.Uint16(b[0x16:]),
		Base:  refFrom(binary.LittleEndian.Uint64(b[0x20:])),
	}
	first := int(binary.LittleEndian.Uint16(b[0x14:]))
	used := int(binary.LittleEndian.Uint32(b[0x18:]))
	if used > len(b) || used < 0x30 {
		return formatErr(off+0x18, "MFT record %d uses %d of %d bytes", num, used, len(b))
	}
	if first < 0x2A || first+8 > used || first%8 != 0 {
		return formatErr(off+0x14, "MFT record %d: first attribute at %d", num, first)
	}
	attrs, err := parseAttributes(b[:used], first, off, clusters)
	if err != nil {
		return fmt.Errorf("MFT record %d: %w", num, err)
	}
	r.Attrs = attrs
	return nil
}

// readRecord reads and decodes MFT record num through the $MFT stream.
func (v *Volume) readRecord(num uint64) (*mftRecord, error) {
	return v.readRecordNear(num, mftRange{})
}

// readRecordNear is readRecord reading the records of near with it on a
// miss (see readMFT).
func (v *Volume) readRecordNear(num uint64, near mftRange) (*mftRecord, error) {
	if num >= v.mftRecords {
		return nil, kindErr(ErrRange, -1, "MFT record %d past the %d records of $MFT", num, v.mftRecords)
	}
	size := int64(v.geo.RecordSize)
	var r *mftRecord
	var b []byte
	if size == smallRecord {
		// The common size: the record and its bytes in one allocation
		// (the decoded attributes point into the bytes).
		a := &recordAlloc{}
		r, b = &a.rec, a.buf[:]
	} else {
		r, b = &mftRecord{}, make([]byte, size)
	}
	if err := v.readMFT(b, int64(num)*size, near); err != nil {
		return nil, fmt.Errorf("ntfs: reading MFT record %d: %w", num, err)
	}
	if err := parseRecordInto(r, b, num, v.mft.volOffset(int64(num)*size), v.geo.Clusters()); err != nil {
		return nil, err
	}
	return r, nil
}

// smallRecord is the size of MFT records on nearly every volume.
const smallRecord = 1024

// recordAlloc holds a decoded record of smallRecord bytes with its bytes.
type recordAlloc struct {
	rec mftRecord
	buf [smallRecord]byte
}
