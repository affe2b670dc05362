package ldm

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// The records (VBLKs) fill fixed-size slots after the VMDB. Each slot
// opens with a 16-byte header: "VBLK", the slot's sequence number, a
// record id, this slot's index among the record's slots and their
// number. A record longer than one slot (a volume with a long name and
// its optional fields, a disk group's ids) spans several slots sharing
// its record id, which need not be adjacent; its data is the slots' data
// in index order. A slot whose record has no slots is free.

const slotHeader = 16

// maxFragments bounds the slots one record may span: Windows uses two or
// three; the kernel's reader stops at four.
const maxFragments = 64

// maxRecords bounds the records of a database: Windows' 1 MiB database
// holds fewer than 6,000 slots of 128 bytes, and every volume a caller
// opens costs it reads.
const maxRecords = 1 << 15

// rawRecord is a record's bytes (from its 8-byte header on) and the disk
// offset of its first slot, for errors.
type rawRecord struct {
	b   []byte
	off int64
}

// fragment collects the slots of one record spanning several.
type fragment struct {
	total int
	parts [][]byte // by index; nil while missing
	got   int
	off   int64 // the disk offset of the first slot seen
}

// readSlots returns the records of the slots in config[from:end] (config
// read at disk byte off), joining those that span several slots, in the
// order of their first slot. It stops at the first slot without the VBLK
// magic, as Windows fills the whole region with slots.
func readSlots(config []byte, off int64, from, end, size int) ([]rawRecord, error) {
	var recs []rawRecord
	frags := map[uint32]*fragment{}
	var order []uint32
	for at := from; at+size <= end; at += size {
		s := config[at : at+size]
		if string(s[:4]) != "VBLK" {
			break
		}
		id := binary.BigEndian.Uint32(s[8:])
		entry, total := int(binary.BigEndian.Uint16(s[12:])), int(binary.BigEndian.Uint16(s[14:]))
		switch {
		case total == 0:
			continue // a free slot
		case entry >= total:
			return nil, formatErr(off+int64(at)+12, "VBLK slot %d of a record of %d", entry, total)
		case len(recs) >= maxRecords:
			return nil, unsupported(off+int64(at), "a database of more than %d records", maxRecords)
		case total == 1:
			recs = append(recs, rawRecord{b: s[slotHeader:], off: off + int64(at)})
			continue
		case total > maxFragments || total > (end-from)/size:
			return nil, formatErr(off+int64(at)+14, "a record of %d VBLK slots", total)
		}
		f := frags[id]
		if f == nil {
			f = &fragment{total: total, parts: make([][]byte, total), off: off + int64(at)}
			frags[id] = f
			order = append(order, id)
			recs = append(recs, rawRecord{off: f.off}) // filled in below, keeping the order
		}
		if f.total != total {
			return nil, formatErr(off+int64(at)+14, "record %d claims %d VBLK slots here and %d before", id, total, f.total)
		}
		if f.parts[entry] != nil {
			return nil, formatErr(off+int64(at)+12, "record %d has two VBLK slots of index %d", id, entry)
		}
		f.parts[entry] = s[slotHeader:]
		f.got++
	}
	byOff := map[int64]int{}
	for i, r := range recs {
		if r.b == nil {
			byOff[r.off] = i
		}
	}
	for _, id := range order {
		f := frags[id]
		if f.got != f.total {
			return nil, formatErr(f.off, "record %d has %d of its %d VBLK slots", id, f.got, f.total)
		}
		b := make([]byte, 0, f.total*(size-slotHeader))
		for _, p := range f.parts {
			b = append(b, p...)
		}
		recs[byOff[f.off]].b = b
	}
	return recs, nil
}

// Record types, the low four bits of the type byte (the high four are
// the record's revision).
const (
	recVolume    = 1
	recComponent = 2
	recPartition = 3
	recDisk      = 4
	recGroup     = 5
)

// cursor reads a record's fields in order. The first field read past the
// record's end sets err, and the reads after it return zeros.
type cursor struct {
	b   []byte
	pos int
	off int64 // disk offset of b[0], for errors
	err error
}

func (c *cursor) fail(format string, args ...any) {
	if c.err == nil {
		c.err = formatErr(c.off+int64(c.pos), format, args...)
	}
}

func (c *cursor) take(n int) []byte {
	if c.err != nil {
		return nil
	}
	if n < 0 || n > len(c.b)-c.pos {
		c.fail("a field of %d bytes past the end of a %d-byte record", n, len(c.b))
		return nil
	}
	p := c.b[c.pos : c.pos+n]
	c.pos += n
	return p
}

func (c *cursor) u8() byte {
	if p := c.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (c *cursor) be64() uint64 {
	if p := c.take(8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

// num reads a number stored as its length (at most max bytes) and its
// big-endian bytes.
func (c *cursor) num(max int) uint64 {
	n := int(c.u8())
	if n > max {
		c.pos--
		c.fail("a number of %d bytes where at most %d fit", n, max)
		return 0
	}
	var v uint64
	for _, b := range c.take(n) {
		v = v<<8 | uint64(b)
	}
	return v
}

// str reads a string stored as its length and its bytes.
func (c *cursor) str() string { return string(c.take(int(c.u8()))) }

// sectors converts a sector count read at the cursor to bytes, refusing
// counts no disk holds (past 2^50 sectors, 512 PiB).
func (c *cursor) sectors(n uint64, what string) int64 {
	if n > 1<<50 {
		c.fail("%s of %d sectors", what, n)
		return 0
	}
	return int64(n) * SectorSize
}

// parseRecords decodes the records into db.
func parseRecords(db *Database, recs []rawRecord) error {
	for _, r := range recs {
		if len(r.b) < 8 {
			return formatErr(r.off, "a VBLK record of %d bytes", len(r.b))
		}
		flags, typ := r.b[2], r.b[3]
		size := int(binary.BigEndian.Uint32(r.b[4:]))
		if size > len(r.b)-8 {
			return formatErr(r.off+slotHeader+4, "a VBLK record of %d bytes in %d", size, len(r.b)-8)
		}
		c := &cursor{b: r.b[8 : 8+size], off: r.off + slotHeader + 8}
		rev := typ >> 4
		var err error
		switch typ & 0x0f {
		case 0:
			continue // a blank record
		case recVolume:
			err = db.parseVolume(c, rev, flags)
		case recComponent:
			err = db.parseComponent(c, rev, flags)
		case recPartition:
			err = db.parsePartition(c, rev, flags)
		case recDisk:
			err = db.parseDisk(c, rev)
		case recGroup:
			err = db.parseGroup(c, rev)
		default:
			err = unsupported(r.off+slotHeader+3, "VBLK record of type %#x", typ)
		}
		if err != nil {
			return err
		}
		if c.err != nil {
			return c.err
		}
	}
	return nil
}

func (db *Database) parseVolume(c *cursor, rev, flags byte) error {
	if rev != 5 {
		return unsupported(c.off-5, "volume record revision %d", rev)
	}
	v := VolumeRecord{ID: c.num(4), Name: c.str(), Kind: c.str()}
	c.str() // unknown: empty, or "8000000000000000"
	v.State = cString(c.take(14))
	v.Type = c.u8()
	c.take(1)
	v.Number = c.u8()
	c.take(3)
	v.Flags = c.u8()
	v.Components = int(c.num(4))
	c.take(16) // the commit id and an id
	v.Size = c.sectors(c.num(8), "a volume")
	c.take(4)
	v.PartType = c.u8()
	if g := c.take(16); g != nil {
		v.GUID = guidText(g)
	}
	if flags&0x08 != 0 {
		c.str()
	}
	if flags&0x20 != 0 {
		c.str()
	}
	if flags&0x80 != 0 {
		c.num(8)
	}
	if flags&0x02 != 0 {
		v.DriveHint = c.str()
	}
	if c.err == nil && v.Type != volumeGen && v.Type != volumeRAID5 {
		return unsupported(c.off, "volume %s of type %d", v.Name, v.Type)
	}
	db.Volumes = append(db.Volumes, v)
	return nil
}

func (db *Database) parseComponent(c *cursor, rev, flags byte) error {
	if rev != 3 {
		return unsupported(c.off-5, "component record revision %d", rev)
	}
	p := ComponentRecord{ID: c.num(4), Name: c.str(), State: c.str()}
	p.Type = c.u8()
	c.take(4)
	p.Parts = int(c.num(4))
	c.take(16) // the log commit id and zeros
	p.Volume = c.num(4)
	c.take(1)
	if flags&0x10 != 0 {
		p.ChunkSize = c.sectors(c.num(8), "a stripe chunk")
		p.Columns = int(c.num(4))
	}
	if c.err == nil && (p.Type < compStriped || p.Type > compRAID) {
		return unsupported(c.off, "component %s of type %d", p.Name, p.Type)
	}
	db.Components = append(db.Components, p)
	return nil
}

func (db *Database) parsePartition(c *cursor, rev, flags byte) error {
	if rev != 3 {
		return unsupported(c.off-5, "partition record revision %d", rev)
	}
	p := PartitionRecord{ID: c.num(4), Name: c.str()}
	c.take(12) // zeros and the log commit id
	p.Start = c.sectors(c.be64(), "a partition start")
	p.VolumeOffset = c.sectors(c.be64(), "a volume offset")
	p.Size = c.sectors(c.num(8), "a partition")
	p.Component = c.num(4)
	p.Disk = c.num(4)
	if flags&0x08 != 0 {
		p.Index = int(c.num(4))
	}
	db.Partitions = append(db.Partitions, p)
	return nil
}

func (db *Database) parseDisk(c *cursor, rev byte) error {
	d := DiskRecord{ID: c.num(4), Name: c.str()}
	switch rev {
	case 3:
		d.GUID = c.str()
		if c.err == nil && !isGUID(d.GUID) {
			return formatErr(c.off, "disk %s has GUID %q", d.Name, d.GUID)
		}
	case 4:
		if g := c.take(16); g != nil {
			d.GUID = guidText(g)
		}
	default:
		return unsupported(c.off-5, "disk record revision %d", rev)
	}
	d.GUID = lower(d.GUID)
	db.Disks = append(db.Disks, d)
	return nil
}

func (db *Database) parseGroup(c *cursor, rev byte) error {
	if rev != 3 && rev != 4 {
		return unsupported(c.off-5, "disk group record revision %d", rev)
	}
	id, name := c.num(4), c.str()
	if db.GroupID == 0 && db.groupRecords == 0 {
		db.GroupID, db.GroupName = id, name
	}
	db.groupRecords++
	return nil
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// sortedExtents returns the partitions in volume order.
func sortedExtents(ps []Extent, byIndex bool) []Extent {
	out := append([]Extent(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool {
		if byIndex {
			return out[i].Index < out[j].Index
		}
		return out[i].VolumeOffset < out[j].VolumeOffset
	})
	return out
}

func (r VolumeRecord) String() string {
	return fmt.Sprintf("volume %s (id %d, %s, %d bytes)", r.Name, r.ID, r.Kind, r.Size)
}
