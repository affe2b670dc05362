package main

import (
	"encoding/binary"
	"hash/crc32"
	"unicode/utf16"
)

// Partition tables of dynamic disks, as Windows lays them out.

// mbrLDM writes an MBR whose one partition, of type 0x42, covers the data
// area (Windows leaves the database, the last megabyte, outside it).
func mbrLDM(disk []byte, sig uint32, start, sectors uint64) {
	binary.LittleEndian.PutUint32(disk[440:], sig)
	mbrEntry(disk[446:], 0x42, start, sectors)
	disk[510], disk[511] = 0x55, 0xaa
}

func mbrEntry(e []byte, typ byte, start, sectors uint64) {
	e[1], e[2], e[3] = 0xfe, 0xff, 0xff // CHS past the 8 GB limit: use the LBA fields
	e[4] = typ
	e[5], e[6], e[7] = 0xfe, 0xff, 0xff
	binary.LittleEndian.PutUint32(e[8:], uint32(start))
	binary.LittleEndian.PutUint32(e[12:], uint32(min(sectors, 0xffffffff)))
}

// GPT type GUIDs, in their on-disk (mixed-endian) form.
var (
	gptLDMMetadata = guidOnDisk("5808C8AA-7E8F-42E0-85D2-E1E90434CFB3")
	gptLDMData     = guidOnDisk("AF9B60A0-1431-4F62-BC68-3311714A69AD")
	gptMSR         = guidOnDisk("E3C9E316-0B5C-4DB8-817D-F92DF00215AE")
)

// guidOnDisk converts GUID text to the Windows layout: the first three
// fields little-endian, the last eight bytes as they are.
func guidOnDisk(s string) []byte {
	b := guidBytes(s)
	b[0], b[1], b[2], b[3] = b[3], b[2], b[1], b[0]
	b[4], b[5] = b[5], b[4]
	b[6], b[7] = b[7], b[6]
	return b
}

type gptPart struct {
	typ         []byte
	guid        string
	first, last uint64
	name        string
}

// gptDisk writes a protective MBR, the primary and backup GPT headers and
// their 128-entry tables.
func gptDisk(disk []byte, diskGUID string, parts []gptPart) {
	sectors := uint64(len(disk) / 512)
	mbrEntry(disk[446:], 0xee, 1, sectors-1)
	disk[510], disk[511] = 0x55, 0xaa
	table := make([]byte, 128*128)
	for i, p := range parts {
		e := table[i*128:]
		copy(e, p.typ)
		copy(e[16:], guidOnDisk(p.guid))
		binary.LittleEndian.PutUint64(e[32:], p.first)
		binary.LittleEndian.PutUint64(e[40:], p.last)
		for j, u := range utf16.Encode([]rune(p.name)) {
			binary.LittleEndian.PutUint16(e[56+2*j:], u)
		}
	}
	tcrc := crc32.ChecksumIEEE(table)
	header := func(self, other, entries uint64) []byte {
		h := make([]byte, 92)
		copy(h, "EFI PART")
		binary.LittleEndian.PutUint32(h[8:], 0x00010000)
		binary.LittleEndian.PutUint32(h[12:], 92)
		binary.LittleEndian.PutUint64(h[24:], self)
		binary.LittleEndian.PutUint64(h[32:], other)
		binary.LittleEndian.PutUint64(h[40:], 34)
		binary.LittleEndian.PutUint64(h[48:], sectors-34)
		copy(h[56:], guidOnDisk(diskGUID))
		binary.LittleEndian.PutUint64(h[72:], entries)
		binary.LittleEndian.PutUint32(h[80:], 128)
		binary.LittleEndian.PutUint32(h[84:], 128)
		binary.LittleEndian.PutUint32(h[88:], tcrc)
		binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h))
		return h
	}
	copy(disk[512:], header(1, sectors-1, 2))
	copy(disk[2*512:], table)
	copy(disk[(sectors-33)*512:], table)
	copy(disk[(sectors-1)*512:], header(sectors-1, 1, sectors-33))
}
