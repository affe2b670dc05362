package xfs

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// LogState says what was done with the volume's log when it was opened.
type LogState struct {
	// Dirty is true when the log holds transactions that may not have
	// been written back (the volume was not unmounted cleanly).
	Dirty bool
	// Replayed is true when those transactions were applied in memory, so
	// files read as the kernel shows them after log recovery.
	Replayed bool
	// Transactions is the number of committed transactions replayed.
	Transactions int
	// Note explains a dirty log left unreplayed (the files then read as
	// `mount -o norecovery` shows them, which may miss the latest changes)
	// or a part of the log that was skipped.
	Note string
}

// String is a one-line summary for listings: "clean", "replayed (N
// transactions)" or "NOT replayed: why".
func (s LogState) String() string {
	switch {
	case !s.Dirty && s.Note != "":
		return s.Note
	case !s.Dirty:
		return "clean"
	case s.Replayed && s.Note != "":
		return fmt.Sprintf("replayed (%d transactions; %s)", s.Transactions, s.Note)
	case s.Replayed:
		return fmt.Sprintf("replayed (%d transactions)", s.Transactions)
	}
	return "NOT replayed, last checkpointed state shown: " + s.Note
}

// LogState reports the state of the log, as found when the volume was
// opened.
func (v *FS) LogState() LogState { return v.log }

// Log record and operation constants.
const (
	logRecMagic   = 0xfeedbabe
	bbSize        = 512
	cycleDataBBs  = 64 // data blocks whose first word one header saves (32 KiB)
	opHeaderLen   = 12
	opStartTrans  = 0x01
	opCommitTrans = 0x02
	opContinue    = 0x04
	opWasCont     = 0x08
	opUnmount     = 0x20
	clientTrans   = 0x69
	clientLog     = 0xaa
	// maxLogRecords bounds the records walked from tail to head.
	maxLogRecords = 1 << 20
	// maxLogData bounds one record's data (iclogs are at most 256 KiB).
	maxLogData = 1 << 20
)

// logRec is one log record header found in the log.
type logRec struct {
	blk     int64 // basic block in the log where the header starts
	cycle   uint32
	lsn     uint64
	tail    uint64
	dataLen int
	hdrBBs  int64
	numOps  int
}

// xlog is the internal log, read as a ring of 512-byte basic blocks.
type xlog struct {
	v   *FS
	off int64 // byte offset of the log in the volume
	bbs int64 // size in basic blocks
}

// readBB reads n basic blocks from log block blk, wrapping at the end.
func (l *xlog) readBB(blk, n int64) ([]byte, error) {
	out := make([]byte, n*bbSize)
	for done := int64(0); done < n; {
		b := (blk + done) % l.bbs
		k := min(n-done, l.bbs-b)
		if _, err := l.v.r.ReadAt(out[done*bbSize:(done+k)*bbSize], l.off+b*bbSize); err != nil {
			return nil, fmt.Errorf("xfs: reading the log: %w", err)
		}
		done += k
	}
	return out, nil
}

// header decodes a record header at log block blk, or returns nil.
func (l *xlog) header(b []byte, blk int64) *logRec {
	be := binary.BigEndian
	if be.Uint32(b) != logRecMagic {
		return nil
	}
	r := &logRec{blk: blk, cycle: be.Uint32(b[4:]), dataLen: int(int32(be.Uint32(b[12:]))),
		lsn: be.Uint64(b[16:]), tail: be.Uint64(b[24:]), numOps: int(be.Uint32(b[40:])), hdrBBs: 1}
	version := be.Uint32(b[8:])
	size := int64(be.Uint32(b[320:]))
	if version == 2 && size > cycleDataBBs*bbSize {
		r.hdrBBs = (size + cycleDataBBs*bbSize - 1) / (cycleDataBBs * bbSize)
	}
	if version < 1 || version > 2 || r.dataLen <= 0 || r.dataLen > maxLogData || r.cycle == 0 ||
		uint32(r.lsn>>32) != r.cycle || int64(uint32(r.lsn)) != blk || r.hdrBBs > 16 {
		return nil
	}
	return r
}

// fullScanBBs is the log size up to which the head is found by reading
// the whole log; larger logs (up to 2 GiB) are searched by cycle number.
var fullScanBBs int64 = 16 << 20 / bbSize

// headWindowBBs is how far before the cycle boundary the last records are
// looked for: more than all in-core log buffers together (8 x 256 KiB).
const headWindowBBs = 8 << 20 / bbSize

// findHead returns the last record completely written: the highest LSN
// whose data blocks all carry its cycle number (a torn write leaves older
// cycles behind).
func (l *xlog) findHead() (*logRec, error) {
	if l.bbs > fullScanBBs {
		if r, err := l.searchHead(); err == nil && r != nil {
			return r, nil
		} else if err != nil {
			return nil, err
		}
	}
	return l.bestRecord(0, l.bbs)
}

// cycleAt is the cycle number a basic block was written in: its first
// word, or the header's cycle field when it starts a record.
func (l *xlog) cycleAt(blk int64) (uint32, error) {
	b, err := l.readBB(blk, 1)
	if err != nil {
		return 0, err
	}
	be := binary.BigEndian
	if be.Uint32(b) == logRecMagic {
		return be.Uint32(b[4:]), nil
	}
	return be.Uint32(b), nil
}

// searchHead finds where the current cycle ends, by binary search (the
// log holds blocks of cycle c, then of cycle c-1), and looks for the last
// record in a window before it. nil means nothing was found there.
func (l *xlog) searchHead() (*logRec, error) {
	first, err := l.cycleAt(0)
	if err != nil {
		return nil, err
	}
	last, err := l.cycleAt(l.bbs - 1)
	if err != nil {
		return nil, err
	}
	head := l.bbs
	if first != last {
		lo, hi := int64(0), l.bbs-1 // cycle(lo) == first, cycle(hi) != first
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			c, err := l.cycleAt(mid)
			if err != nil {
				return nil, err
			}
			if c == first {
				lo = mid
			} else {
				hi = mid
			}
		}
		head = hi
	}
	// In-core log buffers may reach the disk out of order, so records of
	// the current cycle can lie a little past the boundary too.
	window := min(2*int64(headWindowBBs), l.bbs)
	from := head - window/2
	if from < 0 { // the window wraps: its start lies at the end of the log
		from += l.bbs
	}
	return l.bestRecord(from, window)
}

// bestRecord reads n basic blocks from blk (wrapping) and returns the
// complete record header there with the highest LSN.
func (l *xlog) bestRecord(blk, n int64) (*logRec, error) {
	const chunk = 2048 // basic blocks read at once
	n = min(n, l.bbs)
	var recs []*logRec
	for done := int64(0); done < n; done += chunk {
		k := min(chunk, n-done)
		start := (blk + done) % l.bbs
		b, err := l.readBB(start, k)
		if err != nil {
			return nil, err
		}
		for i := int64(0); i < k; i++ {
			if r := l.header(b[i*bbSize:(i+1)*bbSize], (start+i)%l.bbs); r != nil {
				recs = append(recs, r)
			}
		}
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].lsn > recs[j].lsn })
	for _, r := range recs {
		if _, err := l.recordData(r); err == nil {
			return r, nil
		}
	}
	if blk != 0 || n != l.bbs {
		return nil, nil
	}
	return nil, formatErr(l.off, "no complete log record in the log")
}

// recordData returns a record's data with the first word of every basic
// block restored from the cycle data saved in the header(s).
func (l *xlog) recordData(r *logRec) ([]byte, error) {
	dataBBs := int64((r.dataLen + bbSize - 1) / bbSize)
	if r.hdrBBs+dataBBs > l.bbs {
		return nil, formatErr(l.off+r.blk*bbSize, "log record of %d blocks in a log of %d", r.hdrBBs+dataBBs, l.bbs)
	}
	b, err := l.readBB(r.blk, r.hdrBBs+dataBBs)
	if err != nil {
		return nil, err
	}
	hdr, data := b[:r.hdrBBs*bbSize], b[r.hdrBBs*bbSize:]
	be := binary.BigEndian
	for i := int64(0); i < dataBBs; i++ {
		w := data[i*bbSize:]
		// The part of a record written past the end of the log, at its
		// start, carries the next cycle number.
		want := r.cycle
		if r.blk+r.hdrBBs+i >= l.bbs {
			want++
		}
		if be.Uint32(w) != want {
			return nil, formatErr(l.off+((r.blk+r.hdrBBs+i)%l.bbs)*bbSize, "log block of cycle %d in a record of cycle %d", be.Uint32(w), r.cycle)
		}
		var saved []byte
		if j, k := i/cycleDataBBs, i%cycleDataBBs; j == 0 {
			saved = hdr[44+k*4:]
		} else {
			if j >= r.hdrBBs {
				return nil, formatErr(l.off+r.blk*bbSize, "log record lacks extended headers")
			}
			saved = hdr[j*bbSize+4+k*4:]
		}
		copy(w[:4], saved[:4])
	}
	return data[:r.dataLen], nil
}

// recoverLog decides whether the log is clean and, when not, replays it
// into the overlay. Failures never stop the volume from opening: they
// leave the unreplayed state with a note.
func (v *FS) recoverLog(noRecovery bool) LogState {
	sb := v.sb
	if sb.logStart == 0 {
		return LogState{Note: "log on an external device, not read: the latest changes may be missing"}
	}
	off, err := sb.fsbToByte(sb.logStart)
	if err != nil {
		return LogState{Dirty: true, Note: err.Error()}
	}
	l := &xlog{v: v, off: off, bbs: int64(sb.logBlocks) << sb.blockLog / bbSize}
	head, err := l.findHead()
	if err != nil {
		return LogState{Dirty: true, Note: "log head not found: " + err.Error()}
	}
	data, err := l.recordData(head)
	if err == nil && head.numOps == 1 && isUnmountRecord(data) {
		return LogState{}
	}
	st := LogState{Dirty: true}
	if noRecovery {
		st.Note = "recovery turned off"
		return st
	}
	rp := newReplayer(v)
	if err := l.walk(head, rp); err != nil {
		st.Note = "log replay failed: " + err.Error()
		return st
	}
	n, err := rp.apply()
	if err != nil {
		st.Note = "log replay failed: " + err.Error()
		return st
	}
	v.overlay = rp.ov
	st.Replayed, st.Transactions, st.Note = true, n, rp.note()
	return st
}

// isUnmountRecord reports whether a record holds the one operation an
// unmount writes.
func isUnmountRecord(d []byte) bool {
	return len(d) >= opHeaderLen && d[8] == clientLog && d[9]&opUnmount != 0
}

// walk reads the records from the head's tail to the head, in order, and
// feeds their operations to the replayer.
func (l *xlog) walk(head *logRec, rp *replayer) error {
	blk := int64(uint32(head.tail))
	if blk >= l.bbs {
		return formatErr(l.off, "log tail at block %d of %d", blk, l.bbs)
	}
	for i := 0; i < maxLogRecords; i++ {
		hb, err := l.readBB(blk, 1)
		if err != nil {
			return err
		}
		r := l.header(hb, blk)
		if r == nil {
			return formatErr(l.off+blk*bbSize, "no log record header at log block %d", blk)
		}
		data, err := l.recordData(r)
		if err != nil {
			return err
		}
		if err := rp.record(data, r.numOps); err != nil {
			return err
		}
		if r.blk == head.blk {
			return nil
		}
		blk = (blk + r.hdrBBs + int64((r.dataLen+bbSize-1)/bbSize)) % l.bbs
	}
	return kindErr(ErrLoop, l.off, "more than %d log records", maxLogRecords)
}
