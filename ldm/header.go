package ldm

import (
	"encoding/binary"
	"fmt"
)

// The database (1 MiB, "config" in the PRIVHEAD) opens with copies of the
// table of contents; the TOCBLOCK's "config" bitmap says where the VMDB
// (the database header) and its VBLK records lie, its "log" bitmap where
// the transaction log lies (not read: a database with an uncommitted
// transaction is refused).

// tocSectors are the sectors of the database that may hold a TOCBLOCK,
// tried in order: Windows writes sectors 2 and 2045 (the kernel's reader
// also looks at 1 and 2046, where older versions put copies).
var tocSectors = []int64{2, 1, 2045, 2046}

// tocBitmap is one region the TOCBLOCK lists, in sectors from the start
// of the database.
type tocBitmap struct {
	name        string
	start, size uint64
}

// parseTOC decodes a TOCBLOCK sector b, read at byte off.
func parseTOC(b []byte, off int64) ([2]tocBitmap, error) {
	var t [2]tocBitmap
	if string(b[:8]) != "TOCBLOCK" {
		return t, formatErr(off, "no TOCBLOCK")
	}
	for i := range t {
		e := b[0x24+0x22*i:]
		t[i] = tocBitmap{name: cString(e[:8]), start: binary.BigEndian.Uint64(e[0x0a:]), size: binary.BigEndian.Uint64(e[0x12:])}
	}
	return t, nil
}

// encodeTOC is parseTOC's inverse.
func encodeTOC(t [2]tocBitmap) []byte {
	b := make([]byte, SectorSize)
	copy(b, "TOCBLOCK")
	for i, m := range t {
		e := b[0x24+0x22*i:]
		copy(e[:8], m.name)
		binary.BigEndian.PutUint64(e[0x0a:], m.start)
		binary.BigEndian.PutUint64(e[0x12:], m.size)
	}
	return b
}

// vmdb is the database header.
type vmdb struct {
	last, vblkSize, first uint32
	status, major, minor  uint16
	name, guid            string
	committed, pending    uint64
	// counts of committed volume, component, partition and disk records
	nVol, nComp, nPart, nDisk uint32
}

const (
	vmdbSize = 0xc5 // the header's fields end here
	// vmdbConsistent is the update status of a database with no
	// transaction under way.
	vmdbConsistent = 1
	minVBLK        = 32 // the 16-byte slot header, the 8-byte record header and some data
	maxVBLK        = 64 << 10
)

// parseVMDB decodes the VMDB at the start of b, read at byte off.
func parseVMDB(b []byte, off int64) (vmdb, error) {
	var v vmdb
	if len(b) < vmdbSize || string(b[:4]) != "VMDB" {
		return v, formatErr(off, "no VMDB")
	}
	be := binary.BigEndian
	v.last, v.vblkSize, v.first = be.Uint32(b[0x04:]), be.Uint32(b[0x08:]), be.Uint32(b[0x0c:])
	v.status, v.major, v.minor = be.Uint16(b[0x10:]), be.Uint16(b[0x12:]), be.Uint16(b[0x14:])
	v.name = cString(b[0x16:0x35])
	v.guid = cString(b[0x35:0x75])
	v.committed, v.pending = be.Uint64(b[0x75:]), be.Uint64(b[0x7d:])
	v.nVol, v.nComp, v.nPart, v.nDisk = be.Uint32(b[0x85:]), be.Uint32(b[0x89:]), be.Uint32(b[0x8d:]), be.Uint32(b[0x91:])
	if v.major != 4 {
		return v, unsupported(off+0x12, "VMDB version %d.%d", v.major, v.minor)
	}
	if v.vblkSize < minVBLK || v.vblkSize > maxVBLK {
		return v, formatErr(off+0x08, "VBLK size %d", v.vblkSize)
	}
	if v.first < vmdbSize {
		return v, formatErr(off+0x0c, "first VBLK at offset %d of the VMDB", v.first)
	}
	if v.status != vmdbConsistent {
		// The records then mix the committed state with the pending
		// one; the log that tells them apart is not read.
		return v, unsupported(off+0x10, "the database has an uncommitted transaction (update status %d)", v.status)
	}
	return v, nil
}

// encodeVMDB is parseVMDB's inverse.
func encodeVMDB(v vmdb) []byte {
	b := make([]byte, SectorSize)
	be := binary.BigEndian
	copy(b, "VMDB")
	be.PutUint32(b[0x04:], v.last)
	be.PutUint32(b[0x08:], v.vblkSize)
	be.PutUint32(b[0x0c:], v.first)
	be.PutUint16(b[0x10:], v.status)
	be.PutUint16(b[0x12:], v.major)
	be.PutUint16(b[0x14:], v.minor)
	copy(b[0x16:0x35], v.name)
	copy(b[0x35:0x75], v.guid)
	be.PutUint64(b[0x75:], v.committed)
	be.PutUint64(b[0x7d:], v.pending)
	be.PutUint32(b[0x85:], v.nVol)
	be.PutUint32(b[0x89:], v.nComp)
	be.PutUint32(b[0x8d:], v.nPart)
	be.PutUint32(b[0x91:], v.nDisk)
	return b
}

// vblkArea finds the VMDB in the database config (read at byte off of
// the disk) through its table of contents, and returns the VMDB and the
// region (offsets in config) its records lie in.
func vblkArea(config []byte, off int64) (v vmdb, vmdbAt, end int, err error) {
	var toc [2]tocBitmap
	var tocErr error
	found := false
	for _, s := range tocSectors {
		at := s * SectorSize
		if at+SectorSize > int64(len(config)) {
			continue
		}
		if toc, tocErr = parseTOC(config[at:at+SectorSize], off+at); tocErr == nil {
			found = true
			break
		}
	}
	if !found {
		if tocErr == nil {
			tocErr = formatErr(off, "a database of %d bytes holds no TOCBLOCK", len(config))
		}
		return v, 0, 0, tocErr
	}
	var cfg *tocBitmap
	for i := range toc {
		if toc[i].name == "config" {
			cfg = &toc[i]
			break
		}
	}
	sectors := uint64(len(config) / SectorSize)
	switch {
	case cfg == nil:
		return v, 0, 0, formatErr(off, "the TOCBLOCK lists no config region")
	case cfg.start == 0 || cfg.start > sectors || cfg.size > sectors-cfg.start:
		return v, 0, 0, formatErr(off, "config region of %d sectors at sector %d of a %d-sector database", cfg.size, cfg.start, sectors)
	}
	vmdbAt, end = int(cfg.start)*SectorSize, int(cfg.start+cfg.size)*SectorSize
	if v, err = parseVMDB(config[vmdbAt:end], off+int64(vmdbAt)); err != nil {
		return v, 0, 0, err
	}
	if int(v.first) > end-vmdbAt {
		return v, 0, 0, formatErr(off+int64(vmdbAt)+0x0c, "first VBLK at offset %d of a %d-byte region", v.first, end-vmdbAt)
	}
	// The VMDB counts its slots from its own start; fewer than the region
	// holds ends the records early.
	if n := uint64(v.last) * uint64(v.vblkSize); n >= uint64(v.first) && n < uint64(end-vmdbAt) {
		end = vmdbAt + int(n)
	}
	return v, vmdbAt, end, nil
}

func (v vmdb) String() string {
	return fmt.Sprintf("VMDB %d.%d seq %d: %d volumes, %d components, %d partitions, %d disks", v.major, v.minor,
		v.committed, v.nVol, v.nComp, v.nPart, v.nDisk)
}
