package vhdx

import "encoding/binary"

// logWrite is one change a log entry carries: 4 KiB-aligned data pages,
// or (data nil) a run of zeros of length zeroLen.
type logWrite struct {
	off     int64
	data    []byte // a multiple of 4 KiB
	zeroLen int64
}

// logEntryParams are the header fields of an entry to encode.
type logEntryParams struct {
	seq     uint64
	tail    int64 // offset in the log of the sequence's first entry
	guid    GUID
	flushed int64
	last    int64
}

// encodeLogEntry builds one log entry ([MS-VHDX] 2.3.1): header and
// descriptors in the first sectors, then one data sector per 4 KiB page.
func encodeLogEntry(p logEntryParams, writes []logWrite) []byte {
	var descs [][]byte
	var pages [][]byte
	for _, w := range writes {
		if w.data == nil {
			d := make([]byte, logDescriptorSize)
			copy(d, "zero")
			binary.LittleEndian.PutUint64(d[8:], uint64(w.zeroLen))
			binary.LittleEndian.PutUint64(d[16:], uint64(w.off))
			binary.LittleEndian.PutUint64(d[24:], p.seq)
			descs = append(descs, d)
			continue
		}
		for i := 0; i+logSectorSize <= len(w.data); i += logSectorSize {
			page := w.data[i : i+logSectorSize]
			d := make([]byte, logDescriptorSize)
			copy(d, "desc")
			copy(d[4:8], page[4092:]) // trailing bytes
			copy(d[8:16], page[0:8])  // leading bytes
			binary.LittleEndian.PutUint64(d[16:], uint64(w.off)+uint64(i))
			binary.LittleEndian.PutUint64(d[24:], p.seq)
			descs = append(descs, d)
			s := make([]byte, logSectorSize)
			copy(s, "data")
			binary.LittleEndian.PutUint32(s[4:], uint32(p.seq>>32))
			copy(s[8:4092], page[8:4092])
			binary.LittleEndian.PutUint32(s[4092:], uint32(p.seq))
			pages = append(pages, s)
		}
	}
	descSectors := (logEntryHeaderSize + logDescriptorSize*len(descs) + logSectorSize - 1) / logSectorSize
	b := make([]byte, (descSectors+len(pages))*logSectorSize)
	copy(b, "loge")
	binary.LittleEndian.PutUint32(b[8:], uint32(len(b)))
	binary.LittleEndian.PutUint32(b[12:], uint32(p.tail))
	binary.LittleEndian.PutUint64(b[16:], p.seq)
	binary.LittleEndian.PutUint32(b[24:], uint32(len(descs)))
	copy(b[32:], p.guid[:])
	binary.LittleEndian.PutUint64(b[48:], uint64(p.flushed))
	binary.LittleEndian.PutUint64(b[56:], uint64(p.last))
	for i, d := range descs {
		copy(b[logEntryHeaderSize+logDescriptorSize*i:], d)
	}
	for i, s := range pages {
		copy(b[(descSectors+i)*logSectorSize:], s)
	}
	putCRC(b, 4)
	return b
}
