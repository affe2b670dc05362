package vhdx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// header is one of the two VHDX headers ([MS-VHDX] 2.2.2).
type header struct {
	Sequence      uint64
	FileWriteGUID GUID
	DataWriteGUID GUID
	LogGUID       GUID
	LogVersion    uint16
	Version       uint16
	LogLength     uint32
	LogOffset     uint64
}

func decodeHeader(b []byte, off int64) (header, error) {
	var h header
	if len(b) < headerSize || string(b[0:4]) != "head" {
		return h, formatErr(off, "no header signature")
	}
	if got, want := binary.LittleEndian.Uint32(b[4:]), crcWithHole(b[:headerSize], 4); got != want {
		return h, checksumErr(off, fmt.Sprintf("header CRC-32C is 0x%08x, computed 0x%08x", got, want))
	}
	h.Sequence = binary.LittleEndian.Uint64(b[8:])
	h.FileWriteGUID = getGUID(b[16:])
	h.DataWriteGUID = getGUID(b[32:])
	h.LogGUID = getGUID(b[48:])
	h.LogVersion = binary.LittleEndian.Uint16(b[64:])
	h.Version = binary.LittleEndian.Uint16(b[66:])
	h.LogLength = binary.LittleEndian.Uint32(b[68:])
	h.LogOffset = binary.LittleEndian.Uint64(b[72:])
	if h.Version != 1 {
		return h, unsupportedErr(off+66, "header version %d (only 1 is defined)", h.Version)
	}
	if h.LogVersion != 0 {
		return h, unsupportedErr(off+64, "log version %d (only 0 is defined)", h.LogVersion)
	}
	if h.LogOffset%mib != 0 || h.LogLength%mib != 0 {
		return h, formatErr(off+68, "log at 0x%x length 0x%x is not 1 MiB aligned", h.LogOffset, h.LogLength)
	}
	return h, nil
}

func (h header) encode() []byte {
	b := make([]byte, headerSize)
	copy(b, "head")
	binary.LittleEndian.PutUint64(b[8:], h.Sequence)
	copy(b[16:], h.FileWriteGUID[:])
	copy(b[32:], h.DataWriteGUID[:])
	copy(b[48:], h.LogGUID[:])
	binary.LittleEndian.PutUint16(b[64:], h.LogVersion)
	binary.LittleEndian.PutUint16(b[66:], h.Version)
	binary.LittleEndian.PutUint32(b[68:], h.LogLength)
	binary.LittleEndian.PutUint64(b[72:], h.LogOffset)
	putCRC(b, 4)
	return b
}

// readHeaders picks the current header: the valid one with the higher
// sequence number. A damaged copy is tolerated and reported; I/O errors are not.
func readHeaders(r io.ReaderAt, size int64) (header, string, []string, error) {
	var hs [2]header
	var errs [2]error
	buf := make([]byte, headerSize)
	for i, off := range []int64{header1Off, header2Off} {
		if err := readFull(r, buf, off, size, "VHDX header"); err != nil {
			var ioe *ioError
			if errors.As(err, &ioe) {
				return header{}, "", nil, err
			}
			errs[i] = err
			continue
		}
		hs[i], errs[i] = decodeHeader(buf, off)
	}
	var warn []string
	switch {
	case errs[0] != nil && errs[1] != nil:
		return header{}, "", nil, fmt.Errorf("both headers are invalid: %w; %v", errs[0], errs[1])
	case errs[0] != nil:
		warn = append(warn, fmt.Sprintf("header 1 ignored: %v", errs[0]))
		return hs[1], fmt.Sprintf("header 2 (sequence %d)", hs[1].Sequence), warn, nil
	case errs[1] != nil:
		warn = append(warn, fmt.Sprintf("header 2 ignored: %v", errs[1]))
		return hs[0], fmt.Sprintf("header 1 (sequence %d)", hs[0].Sequence), warn, nil
	case hs[1].Sequence > hs[0].Sequence:
		return hs[1], fmt.Sprintf("header 2 (sequence %d)", hs[1].Sequence), nil, nil
	case hs[1].Sequence == hs[0].Sequence && hs[0] != hs[1]:
		// The spec makes equal sequence numbers with different contents
		// a corrupt file; both cannot be current.
		return header{}, "", nil, formatErr(header2Off, "both headers have sequence %d but differ", hs[0].Sequence)
	}
	return hs[0], fmt.Sprintf("header 1 (sequence %d)", hs[0].Sequence), nil, nil
}

// regionEntry is one row of the region table ([MS-VHDX] 2.2.3).
type regionEntry struct {
	GUID     GUID
	Offset   uint64
	Length   uint32
	Required bool
}

const maxRegionEntries = 2047

func decodeRegionTable(b []byte, off int64) ([]regionEntry, error) {
	if len(b) < regionTableSize || string(b[0:4]) != "regi" {
		return nil, formatErr(off, "no region table signature")
	}
	if got, want := binary.LittleEndian.Uint32(b[4:]), crcWithHole(b[:regionTableSize], 4); got != want {
		return nil, checksumErr(off, fmt.Sprintf("region table CRC-32C is 0x%08x, computed 0x%08x", got, want))
	}
	n := binary.LittleEndian.Uint32(b[8:])
	if n > maxRegionEntries {
		return nil, formatErr(off+8, "region table claims %d entries (at most %d)", n, maxRegionEntries)
	}
	rs := make([]regionEntry, n)
	for i := range rs {
		e := b[16+32*i:]
		rs[i] = regionEntry{
			GUID:     getGUID(e),
			Offset:   binary.LittleEndian.Uint64(e[16:]),
			Length:   binary.LittleEndian.Uint32(e[24:]),
			Required: binary.LittleEndian.Uint32(e[28:])&1 != 0,
		}
	}
	return rs, nil
}

func encodeRegionTable(rs []regionEntry) []byte {
	b := make([]byte, regionTableSize)
	copy(b, "regi")
	binary.LittleEndian.PutUint32(b[8:], uint32(len(rs)))
	for i, r := range rs {
		e := b[16+32*i:]
		copy(e, r.GUID[:])
		binary.LittleEndian.PutUint64(e[16:], r.Offset)
		binary.LittleEndian.PutUint32(e[24:], r.Length)
		if r.Required {
			binary.LittleEndian.PutUint32(e[28:], 1)
		}
	}
	putCRC(b, 4)
	return b
}

// readRegions reads region table 1, falling back to table 2 on a content
// error, and returns the BAT and metadata regions.
func readRegions(r io.ReaderAt, size int64) (bat, meta regionEntry, used string, warn []string, err error) {
	buf := make([]byte, regionTableSize)
	var firstErr error
	for i, off := range []int64{regionTable1Off, regionTable2Off} {
		if err := readFull(r, buf, off, size, "region table"); err != nil {
			var ioe *ioError
			if errors.As(err, &ioe) {
				return bat, meta, "", nil, err
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		rs, err := decodeRegionTable(buf, off)
		if err == nil {
			bat, meta, err = pickRegions(rs, off, size)
		}
		if err != nil {
			if errors.Is(err, ErrUnsupported) {
				return bat, meta, "", nil, err
			}
			if firstErr == nil {
				firstErr = err
			}
			warn = append(warn, fmt.Sprintf("region table %d ignored: %v", i+1, err))
			continue
		}
		return bat, meta, fmt.Sprintf("region table %d", i+1), warn, nil
	}
	return bat, meta, "", nil, fmt.Errorf("no usable region table: %w", firstErr)
}

func pickRegions(rs []regionEntry, off, size int64) (bat, meta regionEntry, err error) {
	for i, e := range rs {
		at := off + 16 + 32*int64(i)
		switch e.GUID {
		case guidBATRegion:
			bat = e
		case guidMetadataRegion:
			meta = e
		default:
			if e.Required {
				return bat, meta, unsupportedErr(at, "required region %s is unknown", e.GUID)
			}
			continue
		}
		if e.Offset%mib != 0 || e.Offset < mib || e.Length == 0 || e.Length%mib != 0 {
			return bat, meta, formatErr(at, "region %s at 0x%x length 0x%x is not 1 MiB aligned", e.GUID, e.Offset, e.Length)
		}
		if e.Offset > uint64(size) || uint64(e.Length) > uint64(size)-e.Offset {
			return bat, meta, formatErr(at, "region %s at 0x%x length 0x%x lies past the end of the file", e.GUID, e.Offset, e.Length)
		}
	}
	if bat.Length == 0 || meta.Length == 0 {
		return bat, meta, formatErr(off, "region table lacks the BAT or the metadata region")
	}
	if bat.Offset < meta.Offset+uint64(meta.Length) && meta.Offset < bat.Offset+uint64(bat.Length) {
		return bat, meta, formatErr(off, "BAT and metadata regions overlap")
	}
	return bat, meta, nil
}
