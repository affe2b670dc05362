package vhdx

import (
	"encoding/binary"
	"fmt"
	"io"
)

// The VHDX log ([MS-VHDX] 2.3): a circular buffer of entries, each a header
// sector with descriptors, then 4 KiB data sectors. Replay copies the
// active sequence's writes into an in-memory overlay; the file is never
// written.

const (
	logEntryHeaderSize = 64
	logDescriptorSize  = 32
	maxLogFileOffset   = 1 << 50 // no real file is this large; guards overflow
)

type logEntry struct {
	pos       int64 // offset inside the log
	length    int64
	tail      int64
	seq       uint64
	descCount int64
	guid      GUID
	flushed   int64
	last      int64
	raw       []byte // the whole entry, kept for replay
}

// logRing reads the log region as the circular buffer it is.
type logRing struct {
	r      io.ReaderAt
	size   int64
	base   int64
	length int64
}

func (l logRing) read(p []byte, pos int64) error {
	for len(p) > 0 {
		n := min(int64(len(p)), l.length-pos)
		if err := readFull(l.r, p[:n], l.base+pos, l.size, "log"); err != nil {
			return err
		}
		p = p[n:]
		pos = 0 // wrapped to the start of the log
	}
	return nil
}

// parseEntry returns the valid entry at pos, or nil when there is none.
func (l logRing) parseEntry(pos int64, want GUID) (*logEntry, error) {
	var h [logEntryHeaderSize]byte
	if err := l.read(h[:], pos); err != nil {
		return nil, err
	}
	if string(h[0:4]) != "loge" {
		return nil, nil
	}
	e := &logEntry{
		pos:       pos,
		length:    int64(binary.LittleEndian.Uint32(h[8:])),
		tail:      int64(binary.LittleEndian.Uint32(h[12:])),
		seq:       binary.LittleEndian.Uint64(h[16:]),
		descCount: int64(binary.LittleEndian.Uint32(h[24:])),
		guid:      getGUID(h[32:]),
		flushed:   int64(binary.LittleEndian.Uint64(h[48:])),
		last:      int64(binary.LittleEndian.Uint64(h[56:])),
	}
	if e.guid != want || e.length == 0 || e.length%logSectorSize != 0 || e.length > l.length ||
		e.tail%logSectorSize != 0 || e.tail >= l.length || e.seq == 0 {
		return nil, nil
	}
	descSectors := (logEntryHeaderSize + logDescriptorSize*e.descCount + logSectorSize - 1) / logSectorSize
	if descSectors*logSectorSize > e.length {
		return nil, nil
	}
	e.raw = make([]byte, e.length) // bounded by the log length, itself inside the file
	if err := l.read(e.raw, pos); err != nil {
		return nil, err
	}
	if binary.LittleEndian.Uint32(e.raw[4:]) != crcWithHole(e.raw, 4) {
		return nil, nil
	}
	if e.flushed < 0 || e.last < 0 || e.flushed > maxLogFileOffset || e.last > maxLogFileOffset {
		return nil, nil
	}
	return e, nil
}

// findActiveSequence returns the entries of the active sequence, tail
// first, or nil when the log holds none.
func (l logRing) findActiveSequence(want GUID) ([]*logEntry, error) {
	slots := l.length / logSectorSize
	entries := make(map[int64]*logEntry)
	for s := int64(0); s < slots; s++ {
		e, err := l.parseEntry(s*logSectorSize, want)
		if err != nil {
			return nil, err
		}
		if e != nil {
			entries[e.pos] = e
		}
	}
	next := func(e *logEntry) *logEntry {
		n := entries[(e.pos+e.length)%l.length]
		if n != nil && n.seq == e.seq+1 {
			return n
		}
		return nil
	}
	isContinuation := map[int64]bool{}
	for _, e := range entries {
		if n := next(e); n != nil {
			isContinuation[n.pos] = true
		}
	}
	var best []*logEntry
	for _, start := range entries {
		if isContinuation[start.pos] {
			continue
		}
		run := []*logEntry{start}
		for n := next(start); n != nil && int64(len(run)) <= slots; n = next(n) {
			run = append(run, n)
		}
		if seq := validSequence(run); seq != nil && (best == nil || seq[len(seq)-1].seq > best[len(best)-1].seq) {
			best = seq
		}
	}
	return best, nil
}

// validSequence cuts a run of consecutive entries to the longest prefix
// ending at a head whose tail field points into the run.
func validSequence(run []*logEntry) []*logEntry {
	for h := len(run) - 1; h >= 0; h-- {
		for t := 0; t <= h; t++ {
			if run[t].pos == run[h].tail {
				return run[t : h+1]
			}
		}
	}
	return nil
}

// replayLog builds the overlay for a file whose header names a log.
func replayLog(r io.ReaderAt, size int64, h header) (*overlay, int, error) {
	o := &overlay{base: r, baseSize: size, size: size}
	if h.LogGUID.IsZero() {
		return o, 0, nil
	}
	if h.LogLength == 0 || h.LogOffset < mib || h.LogOffset > uint64(size) || uint64(h.LogLength) > uint64(size)-h.LogOffset {
		return nil, 0, fmt.Errorf("%w: log at 0x%x length 0x%x lies outside the file", ErrLog, h.LogOffset, h.LogLength)
	}
	ring := logRing{r: r, size: size, base: int64(h.LogOffset), length: int64(h.LogLength)}
	seq, err := ring.findActiveSequence(h.LogGUID)
	if err != nil {
		return nil, 0, err
	}
	if len(seq) == 0 {
		return o, 0, nil
	}
	head := seq[len(seq)-1]
	if size < head.flushed {
		return nil, 0, fmt.Errorf("%w: file is %d bytes but the log says %d were flushed (truncated copy?)", ErrLog, size, head.flushed)
	}
	for _, e := range seq {
		if err := e.replay(o, int64(h.LogOffset)); err != nil {
			return nil, 0, err
		}
	}
	o.size = max(o.size, head.last)
	return o, len(seq), nil
}

func (e *logEntry) replay(o *overlay, logBase int64) error {
	at := logBase + e.pos
	dataSector := (logEntryHeaderSize + logDescriptorSize*e.descCount + logSectorSize - 1) / logSectorSize
	for i := int64(0); i < e.descCount; i++ {
		d := e.raw[logEntryHeaderSize+logDescriptorSize*i:]
		dAt := at + logEntryHeaderSize + logDescriptorSize*i
		fileOff := int64(binary.LittleEndian.Uint64(d[16:]))
		if binary.LittleEndian.Uint64(d[24:]) != e.seq {
			return fmt.Errorf("%w: descriptor at byte 0x%x has another sequence number than its entry", ErrLog, dAt)
		}
		if fileOff < 0 || fileOff%logSectorSize != 0 || fileOff > maxLogFileOffset {
			return fmt.Errorf("%w: descriptor at byte 0x%x targets unaligned or impossible offset 0x%x", ErrLog, dAt, fileOff)
		}
		switch string(d[0:4]) {
		case "zero":
			n := int64(binary.LittleEndian.Uint64(d[8:]))
			if n <= 0 || n%logSectorSize != 0 || n > maxLogFileOffset {
				return fmt.Errorf("%w: zero descriptor at byte 0x%x has length %d", ErrLog, dAt, n)
			}
			o.apply(segment{off: fileOff, len: n})
		case "desc":
			if (dataSector+1)*logSectorSize > e.length {
				return fmt.Errorf("%w: entry at byte 0x%x has more data descriptors than data sectors", ErrLog, at)
			}
			s := e.raw[dataSector*logSectorSize : (dataSector+1)*logSectorSize]
			seq := uint64(binary.LittleEndian.Uint32(s[4:]))<<32 | uint64(binary.LittleEndian.Uint32(s[4092:]))
			if string(s[0:4]) != "data" || seq != e.seq {
				return fmt.Errorf("%w: data sector %d of entry at byte 0x%x is invalid", ErrLog, dataSector, at)
			}
			page := make([]byte, logSectorSize)
			copy(page[0:8], d[8:16]) // LeadingBytes
			copy(page[8:4092], s[8:4092])
			copy(page[4092:], d[4:8]) // TrailingBytes
			o.apply(segment{off: fileOff, len: logSectorSize, data: page})
			dataSector++
		default:
			return fmt.Errorf("%w: descriptor at byte 0x%x has unknown signature %q", ErrLog, dAt, d[0:4])
		}
	}
	return nil
}
