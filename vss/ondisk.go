package vss

import (
	"encoding/binary"
	"fmt"
	"time"
)

// On-disk layout (little-endian throughout). Every metadata structure lives
// in a 16 KiB block that starts with a 128-byte block header; the volume
// header at 0x1e00 shares the header's first fields.
const (
	// BlockSize is the unit of copy-on-write and of every metadata block.
	BlockSize = 0x4000
	// HeaderOffset is where the shadow copy volume header sits in a volume
	// (inside the NTFS $Boot file's reserved sectors).
	HeaderOffset = 0x1e00

	blockHeaderSize = 128
	entrySize       = 128 // catalog entry
	descriptorSize  = 32  // store block list entry
	rangeEntrySize  = 24  // store block range list entry
)

// Record types of the block header.
const (
	recVolumeHeader = 1
	recCatalog      = 2
	recBlockList    = 3
	recStoreHeader  = 4
	recRangeList    = 5
	recBitmap       = 6
)

// GUID is a Windows GUID as stored on disk (first three fields
// little-endian).
type GUID [16]byte

// vssID identifies every shadow copy structure:
// 3808876b-c176-4e48-b7ae-04046e6cc752.
var vssID = GUID{0x6b, 0x87, 0x08, 0x38, 0x76, 0xc1, 0x48, 0x4e,
	0xb7, 0xae, 0x04, 0x04, 0x6e, 0x6c, 0xc7, 0x52}

// String gives the usual lower-case form, 12e5a133-8722-11e9-9178-525400123456.
func (g GUID) String() string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(g[0:]), binary.LittleEndian.Uint16(g[4:]),
		binary.LittleEndian.Uint16(g[6:]), g[8:10], g[10:])
}

// IsZero reports whether g is all zero bytes.
func (g GUID) IsZero() bool { return g == GUID{} }

// blockHeader is the 128-byte header of the volume header, catalog blocks
// and store blocks.
type blockHeader struct {
	Version  uint32
	Type     uint32
	Relative int64 // offset from the start of the catalog or store
	Current  int64 // this block's offset in the volume
	Next     int64 // next block of the chain, 0 at the end
	InfoSize int64 // store header only: size of the store information
}

func parseBlockHeader(b []byte) (blockHeader, bool) {
	if len(b) < blockHeaderSize || GUID(b[0:16]) != vssID {
		return blockHeader{}, false
	}
	le := binary.LittleEndian
	return blockHeader{
		Version:  le.Uint32(b[16:]),
		Type:     le.Uint32(b[20:]),
		Relative: int64(le.Uint64(b[24:])),
		Current:  int64(le.Uint64(b[32:])),
		Next:     int64(le.Uint64(b[40:])),
		InfoSize: int64(le.Uint64(b[48:])),
	}, true
}

func (h blockHeader) put(b []byte) {
	le := binary.LittleEndian
	copy(b[0:16], vssID[:])
	le.PutUint32(b[16:], h.Version)
	le.PutUint32(b[20:], h.Type)
	le.PutUint64(b[24:], uint64(h.Relative))
	le.PutUint64(b[32:], uint64(h.Current))
	le.PutUint64(b[40:], uint64(h.Next))
	le.PutUint64(b[48:], uint64(h.InfoSize))
}

// volumeHeader is the structure at HeaderOffset.
type volumeHeader struct {
	Version       uint32
	CatalogOffset int64 // 0 when no copy was ever stored
	MaxSize       int64 // 0 for unbounded
	VolumeID      GUID  // this volume
	StorageID     GUID  // the volume holding the store data
}

func parseVolumeHeader(b []byte) (volumeHeader, error) {
	h, ok := parseBlockHeader(b)
	if !ok {
		return volumeHeader{}, ErrNoShadows
	}
	if h.Type != recVolumeHeader {
		return volumeHeader{}, formatErr(HeaderOffset+20, "volume header has record type %d", h.Type)
	}
	le := binary.LittleEndian
	v := volumeHeader{
		Version:       h.Version,
		CatalogOffset: int64(le.Uint64(b[48:])),
		MaxSize:       int64(le.Uint64(b[56:])),
	}
	copy(v.VolumeID[:], b[64:80])
	copy(v.StorageID[:], b[80:96])
	return v, nil
}

func (v volumeHeader) put(b []byte) {
	blockHeader{Version: v.Version, Type: recVolumeHeader, Current: HeaderOffset, Next: HeaderOffset}.put(b)
	le := binary.LittleEndian
	le.PutUint64(b[48:], uint64(v.CatalogOffset))
	le.PutUint64(b[56:], uint64(v.MaxSize))
	copy(b[64:80], v.VolumeID[:])
	copy(b[80:96], v.StorageID[:])
}

// Catalog entry types.
const (
	entryUnused = 1
	entryStore  = 2 // a shadow copy: size, identifier, creation time
	entryData   = 3 // where that copy's store lives
)

// catalogEntry holds the fields of a type 2 or type 3 entry; which are
// meaningful depends on Type.
type catalogEntry struct {
	Type uint64
	ID   GUID

	// type 2
	VolumeSize int64
	Sequence   uint64
	Flags      uint64
	Created    uint64 // FILETIME

	// type 3
	BlockList      int64
	StoreHeader    int64
	RangeList      int64
	Bitmap         int64
	PreviousBitmap int64
}

func parseCatalogEntry(b []byte) catalogEntry {
	le := binary.LittleEndian
	e := catalogEntry{Type: le.Uint64(b[0:])}
	copy(e.ID[:], b[16:32])
	switch e.Type {
	case entryStore:
		e.VolumeSize = int64(le.Uint64(b[8:]))
		e.Sequence = le.Uint64(b[32:])
		e.Flags = le.Uint64(b[40:])
		e.Created = le.Uint64(b[48:])
	case entryData:
		e.BlockList = int64(le.Uint64(b[8:]))
		e.StoreHeader = int64(le.Uint64(b[32:]))
		e.RangeList = int64(le.Uint64(b[40:]))
		e.Bitmap = int64(le.Uint64(b[48:]))
		e.PreviousBitmap = int64(le.Uint64(b[72:]))
	}
	return e
}

func (e catalogEntry) put(b []byte) {
	le := binary.LittleEndian
	clear(b[:entrySize])
	le.PutUint64(b[0:], e.Type)
	copy(b[16:32], e.ID[:])
	switch e.Type {
	case entryStore:
		le.PutUint64(b[8:], uint64(e.VolumeSize))
		le.PutUint64(b[32:], e.Sequence)
		le.PutUint64(b[40:], e.Flags)
		le.PutUint64(b[48:], e.Created)
	case entryData:
		le.PutUint64(b[8:], uint64(e.BlockList))
		le.PutUint64(b[32:], uint64(e.StoreHeader))
		le.PutUint64(b[40:], uint64(e.RangeList))
		le.PutUint64(b[48:], uint64(e.Bitmap))
		le.PutUint64(b[72:], uint64(e.PreviousBitmap))
	}
}

// Block descriptor flags.
const (
	flagForwarder = 0x1 // the data is the next store's (or the volume's) block at Relative
	flagOverlay   = 0x2 // Bitmap says which 512-byte sectors of the block this entry holds
	flagNotUsed   = 0x4 // ignored
)

// descriptor is one entry of a store block list: the block of the volume
// at Original was copied to Offset before it was overwritten.
type descriptor struct {
	Original int64 // block offset in the shadowed volume
	Relative int64 // forwarders: the original offset of the block they forward to
	Offset   int64 // where the copy is, in the volume holding the store
	Flags    uint32
	Bitmap   uint32 // overlays: sectors held, bit 0 = first 512 bytes

	overlay *descriptor // an overlay laid over this entry, in the same store
}

func parseDescriptor(b []byte) descriptor {
	le := binary.LittleEndian
	return descriptor{
		Original: int64(le.Uint64(b[0:])),
		Relative: int64(le.Uint64(b[8:])),
		Offset:   int64(le.Uint64(b[16:])),
		Flags:    le.Uint32(b[24:]),
		Bitmap:   le.Uint32(b[28:]),
	}
}

func (d descriptor) put(b []byte) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(d.Original))
	le.PutUint64(b[8:], uint64(d.Relative))
	le.PutUint64(b[16:], uint64(d.Offset))
	le.PutUint32(b[24:], d.Flags)
	le.PutUint32(b[28:], d.Bitmap)
}

// filetimeEpoch is 1601-01-01 in Unix seconds.
const filetimeEpoch = -11644473600

func filetime(ft uint64) time.Time {
	if ft == 0 {
		return time.Time{}
	}
	return time.Unix(filetimeEpoch+int64(ft/1e7), int64(ft%1e7)*100).UTC()
}

func toFiletime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64((t.Unix()-filetimeEpoch)*1e7 + int64(t.Nanosecond()/100))
}
