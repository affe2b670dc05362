package main

import (
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// Encoders of the LDM structures, written from the layouts Windows uses
// (the records of a Windows Server 2008 R2 group, see
// testdata/ldm/README.md). They are deliberately separate from package
// ldm's decoders: ldmtool, libldm's independent reader, judges both.

// rec builds a record's variable part.
type rec struct{ b []byte }

func (r *rec) byte1(v byte)  { r.b = append(r.b, v) }
func (r *rec) zeros(n int)   { r.b = append(r.b, make([]byte, n)...) }
func (r *rec) raw(p []byte)  { r.b = append(r.b, p...) }
func (r *rec) str(s string)  { r.b = append(append(r.b, byte(len(s))), s...) }
func (r *rec) be64(v uint64) { r.b = binary.BigEndian.AppendUint64(r.b, v) }
func (r *rec) padded(s string, n int) {
	p := make([]byte, n)
	copy(p, s)
	r.raw(p)
}

// num appends v as its length (at least one byte: the kernel's reader
// refuses empty numbers) and its big-endian bytes.
func (r *rec) num(v uint64) {
	var p []byte
	for ; v > 0; v >>= 8 {
		p = append([]byte{byte(v)}, p...)
	}
	if len(p) == 0 {
		p = []byte{0}
	}
	r.byte1(byte(len(p)))
	r.raw(p)
}

// Record type bytes: revision in the high nibble, type in the low one.
const (
	typeVolume    = 0x51
	typeComponent = 0x32
	typePartition = 0x33
	typeDisk3     = 0x34
	typeDisk4     = 0x44
	typeGroup     = 0x35
)

// record is an encoded record: its type, flags and variable part.
type record struct {
	typ, flags byte
	data       []byte
}

func groupRecord(id uint64, name, guid string) record {
	var r rec
	r.num(id)
	r.str(name)
	r.str(guid)
	r.zeros(12)
	return record{typ: typeGroup, data: r.b}
}

// diskRecord is a revision 3 disk (GUID as text) with its alternative
// name, or a revision 4 one (GUID as 16 bytes).
func diskRecord(id uint64, name, guid, alt string, rev4 bool, commit uint64) record {
	var r rec
	r.num(id)
	r.str(name)
	if rev4 {
		r.raw(guidBytes(guid))
		r.zeros(4)
		r.be64(commit)
		return record{typ: typeDisk4, data: r.b}
	}
	r.str(guid)
	r.str(alt)
	r.zeros(4)
	r.be64(commit)
	return record{typ: typeDisk3, data: r.b}
}

func volumeRecord(id uint64, name string, raid5 bool, number byte, comps int, sectors uint64, partType byte, guid, hint string, commit uint64) record {
	var r rec
	r.num(id)
	r.str(name)
	kind, typ := "gen", byte(3)
	if raid5 {
		kind, typ = "raid5", 4
	}
	r.str(kind)
	r.str("")
	r.padded("ACTIVE", 14)
	r.byte1(typ)
	r.byte1(1)
	r.byte1(number)
	r.zeros(3)
	r.byte1(0x11)
	r.num(uint64(comps))
	r.be64(commit)
	r.be64(0)
	r.num(sectors)
	r.zeros(4)
	r.byte1(partType)
	r.raw(guidBytes(guid))
	flags := byte(0)
	if hint != "" {
		flags |= 0x02
		r.str(hint)
	}
	return record{typ: typeVolume, flags: flags, data: r.b}
}

func componentRecord(id uint64, name string, typ byte, parts int, volume uint64, chunkSectors uint64, commit uint64) record {
	var r rec
	r.num(id)
	r.str(name)
	r.str("ACTIVE")
	r.byte1(typ)
	r.zeros(4)
	r.num(uint64(parts))
	r.be64(commit)
	r.zeros(8)
	r.num(volume)
	r.zeros(1)
	flags := byte(0)
	if typ == 1 || typ == 3 { // striped, RAID-5
		flags = 0x10
		r.num(chunkSectors)
		r.num(uint64(parts))
	}
	return record{typ: typeComponent, flags: flags, data: r.b}
}

func partitionRecord(id uint64, name string, start, volOff, sectors, comp, disk uint64, index int, commit uint64) record {
	var r rec
	r.num(id)
	r.str(name)
	r.zeros(4)
	r.be64(commit)
	r.be64(start)
	r.be64(volOff)
	r.num(sectors)
	r.num(comp)
	r.num(disk)
	flags := byte(0x40)
	if index > 0 {
		flags |= 0x08
		r.num(uint64(index))
	}
	r.zeros(1)
	return record{typ: typePartition, flags: flags, data: r.b}
}

func guidBytes(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		panic("bad GUID in the layout: " + s)
	}
	return b
}

// Fixed-layout structures (big-endian), at the offsets Windows writes.

type privhead struct {
	seq                                  uint32
	disk, host, group, groupName         string
	dataStart, dataSize, cfgStart, cfgSz uint64
	stamp                                uint64
}

func (p privhead) encode() []byte {
	b := make([]byte, 512)
	be := binary.BigEndian
	copy(b, "PRIVHEAD")
	be.PutUint32(b[0x08:], p.seq)
	be.PutUint16(b[0x0c:], 2)
	be.PutUint16(b[0x0e:], 12)
	be.PutUint64(b[0x10:], p.stamp)
	be.PutUint64(b[0x18:], 1)
	be.PutUint64(b[0x20:], 0x7ff)
	be.PutUint64(b[0x28:], 0x740)
	copy(b[0x30:0x70], p.disk)
	copy(b[0x70:0xb0], p.host)
	copy(b[0xb0:0xf0], p.group)
	copy(b[0xf0:0x110], p.groupName)
	be.PutUint16(b[0x110:], 2)
	be.PutUint64(b[0x11b:], p.dataStart)
	be.PutUint64(b[0x123:], p.dataSize)
	be.PutUint64(b[0x12b:], p.cfgStart)
	be.PutUint64(b[0x133:], p.cfgSz)
	be.PutUint64(b[0x13b:], 2)     // tables of contents
	be.PutUint64(b[0x143:], 0x7fd) // their size
	be.PutUint32(b[0x14b:], 1)     // configs
	be.PutUint32(b[0x14f:], 1)     // logs
	be.PutUint64(b[0x153:], configSectors)
	be.PutUint64(b[0x15b:], logSectors)
	return b
}

const (
	dbSectors     = 2048 // the whole database: 1 MiB
	vmdbSector    = 17
	configSectors = 0x5c9 // the config region from the VMDB on
	logSectors    = 0xe0
	vblkSize      = 128
)

func tocblock(seq uint32) []byte {
	b := make([]byte, 512)
	be := binary.BigEndian
	copy(b, "TOCBLOCK")
	be.PutUint32(b[0x08:], seq)
	be.PutUint32(b[0x10:], 1)
	copy(b[0x24:], "config")
	be.PutUint64(b[0x2e:], vmdbSector)
	be.PutUint64(b[0x36:], configSectors)
	be.PutUint64(b[0x3e:], 0x0006000100000000)
	copy(b[0x46:], "log")
	be.PutUint64(b[0x50:], vmdbSector+configSectors)
	be.PutUint64(b[0x58:], logSectors)
	be.PutUint64(b[0x60:], 0x0006000100000000)
	return b
}

type vmdb struct {
	name, guid                string
	seq                       uint64
	nVol, nComp, nPart, nDisk uint32
	status                    uint16
}

func (v vmdb) encode() []byte {
	b := make([]byte, 512)
	be := binary.BigEndian
	copy(b, "VMDB")
	be.PutUint32(b[0x04:], configSectors*512/vblkSize)
	be.PutUint32(b[0x08:], vblkSize)
	be.PutUint32(b[0x0c:], 512)
	be.PutUint16(b[0x10:], v.status)
	be.PutUint16(b[0x12:], 4)
	be.PutUint16(b[0x14:], 10)
	copy(b[0x16:0x35], v.name)
	copy(b[0x35:0x75], v.guid)
	for _, at := range []int{0x75, 0x7d} {
		be.PutUint64(b[at:], v.seq)
	}
	for _, at := range []int{0x85, 0xa1} {
		be.PutUint32(b[at:], v.nVol)
		be.PutUint32(b[at+4:], v.nComp)
		be.PutUint32(b[at+8:], v.nPart)
		be.PutUint32(b[at+12:], v.nDisk)
	}
	return b
}
