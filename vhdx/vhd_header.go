package vhdx

import (
	"bytes"
	"encoding/binary"
	"unicode/utf16"
)

// The dynamic disk header ("cxsparse", 1024 bytes) sits at the footer's
// data offset of dynamic and differencing disks. It locates the BAT, gives
// the block size and, for differencing disks, names the parent.

const (
	vhdDynHeaderSize  = 1024
	vhdDynCsOff       = 36 // offset of the checksum field in the header
	vhdParentNameSize = 512
	vhdLocatorCount   = 8
	vhdLocatorSize    = 24
	vhdLocatorsOff    = 576

	vhdMinBlockSize = vhdSector
	// vhdMaxBlockSize is far above the 2 MiB every writer uses, low enough
	// that one block's bitmap and data are cheap to handle.
	vhdMaxBlockSize = 256 << 20
)

var vhdDynCookie = []byte("cxsparse")

// vhdLocator is one parent locator entry of the dynamic header.
type vhdLocator struct {
	Code       [4]byte // "W2ru", "W2ku", "Wi2r", "Wi2k", "Mac ", "MacX"; zero when unused
	DataSpace  uint32  // sectors reserved for the data (some writers store bytes)
	DataLength uint32  // bytes of locator data
	Reserved   uint32
	DataOffset uint64 // file offset of the data
}

// used reports whether the entry names a locator.
func (l *vhdLocator) used() bool { return l.Code != [4]byte{} }

// vhdDynHeader is the decoded dynamic disk header; reserved bytes are not kept.
type vhdDynHeader struct {
	DataOffset      uint64 // unused, all ones
	TableOffset     uint64 // BAT file offset
	Version         uint32
	MaxTableEntries uint32
	BlockSize       uint32
	Checksum        uint32
	ParentID        GUID // parent's footer UniqueID, stored bytes
	ParentTimestamp uint32
	Reserved        uint32
	// ParentName is the raw UTF-16BE parent file name, kept raw so that
	// encoding gives back exactly the bytes read.
	ParentName [vhdParentNameSize]byte
	Locators   [vhdLocatorCount]vhdLocator
}

// decodeVHDDynHeader parses a 1024-byte dynamic header, checking only the
// cookie.
func decodeVHDDynHeader(b []byte) (vhdDynHeader, bool) {
	var h vhdDynHeader
	if len(b) < vhdDynHeaderSize || !bytes.Equal(b[0:8], vhdDynCookie) {
		return h, false
	}
	be := binary.BigEndian
	h.DataOffset = be.Uint64(b[8:])
	h.TableOffset = be.Uint64(b[16:])
	h.Version = be.Uint32(b[24:])
	h.MaxTableEntries = be.Uint32(b[28:])
	h.BlockSize = be.Uint32(b[32:])
	h.Checksum = be.Uint32(b[vhdDynCsOff:])
	copy(h.ParentID[:], b[40:56])
	h.ParentTimestamp = be.Uint32(b[56:])
	h.Reserved = be.Uint32(b[60:])
	copy(h.ParentName[:], b[64:64+vhdParentNameSize])
	for i := range h.Locators {
		h.Locators[i] = decodeVHDLocator(b[vhdLocatorsOff+i*vhdLocatorSize:])
	}
	return h, true
}

// checksumOK reports whether the stored checksum matches the bytes b the
// header was decoded from.
func (h *vhdDynHeader) checksumOK(b []byte) bool {
	return vhdChecksum(b[:vhdDynHeaderSize], vhdDynCsOff) == h.Checksum
}

// encode returns the 1024-byte header with a freshly computed checksum
// (also stored back into h).
func (h *vhdDynHeader) encode() []byte {
	b := make([]byte, vhdDynHeaderSize)
	be := binary.BigEndian
	copy(b[0:8], vhdDynCookie)
	be.PutUint64(b[8:], h.DataOffset)
	be.PutUint64(b[16:], h.TableOffset)
	be.PutUint32(b[24:], h.Version)
	be.PutUint32(b[28:], h.MaxTableEntries)
	be.PutUint32(b[32:], h.BlockSize)
	copy(b[40:56], h.ParentID[:])
	be.PutUint32(b[56:], h.ParentTimestamp)
	be.PutUint32(b[60:], h.Reserved)
	copy(b[64:], h.ParentName[:])
	for i := range h.Locators {
		h.Locators[i].encodeTo(b[vhdLocatorsOff+i*vhdLocatorSize:])
	}
	h.Checksum = vhdChecksum(b, vhdDynCsOff)
	be.PutUint32(b[vhdDynCsOff:], h.Checksum)
	return b
}

// parentName decodes the UTF-16BE parent name up to its first NUL.
func (h *vhdDynHeader) parentName() string {
	u := make([]uint16, 0, vhdParentNameSize/2)
	for i := 0; i+1 < len(h.ParentName); i += 2 {
		c := binary.BigEndian.Uint16(h.ParentName[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// setParentName stores name as UTF-16BE, cut to fit with a terminating NUL.
func (h *vhdDynHeader) setParentName(name string) {
	h.ParentName = [vhdParentNameSize]byte{}
	u := utf16.Encode([]rune(name))
	if len(u) > vhdParentNameSize/2-1 {
		u = u[:vhdParentNameSize/2-1]
	}
	for i, c := range u {
		binary.BigEndian.PutUint16(h.ParentName[2*i:], c)
	}
}

func decodeVHDLocator(b []byte) vhdLocator {
	var l vhdLocator
	be := binary.BigEndian
	copy(l.Code[:], b[0:4])
	l.DataSpace = be.Uint32(b[4:])
	l.DataLength = be.Uint32(b[8:])
	l.Reserved = be.Uint32(b[12:])
	l.DataOffset = be.Uint64(b[16:])
	return l
}

func (l *vhdLocator) encodeTo(b []byte) {
	be := binary.BigEndian
	copy(b[0:4], l.Code[:])
	be.PutUint32(b[4:], l.DataSpace)
	be.PutUint32(b[8:], l.DataLength)
	be.PutUint32(b[12:], l.Reserved)
	be.PutUint64(b[16:], l.DataOffset)
}
