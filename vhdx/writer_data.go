package vhdx

import (
	"encoding/binary"
	"fmt"
)

// WriteAt writes virtual disk bytes. In a differencing disk writes must
// cover whole logical sectors, because a partly written sector would need
// the parent's bytes for the rest.
//
// Writes of ranges that share no sector may run concurrently: the data
// goes out unlocked, only the BAT and bitmap bookkeeping is serialised.
func (w *Writer) WriteAt(p []byte, off int64) (int, error) {
	w.mu.Lock()
	closed := w.closed
	w.mu.Unlock()
	if closed {
		return 0, fmt.Errorf("%s: write after close", w.name)
	}
	size := int64(w.p.VirtualSize)
	if off < 0 || off > size || int64(len(p)) > size-off {
		return 0, fmt.Errorf("%s: write of %d bytes at %d lies outside the %d-byte disk", w.name, len(p), off, size)
	}
	sec := int64(w.p.LogicalSectorSize)
	if w.p.HasParent && (off%sec != 0 || int64(len(p))%sec != 0) {
		return 0, fmt.Errorf("%s: differencing write at %d+%d is not sector aligned", w.name, off, len(p))
	}
	bs := int64(w.p.BlockSize)
	for done := 0; done < len(p); {
		pos := off + int64(done)
		blk := pos / bs
		within := pos - blk*bs
		n := int(min(int64(len(p)-done), bs-within))
		w.mu.Lock()
		base, err := w.allocate(blk)
		w.mu.Unlock()
		if err != nil {
			return done, err
		}
		if err := w.pwrite(p[done:done+n], base+within); err != nil {
			return done, err
		}
		if w.p.HasParent {
			w.mu.Lock()
			err := w.markSectors(blk, within, int64(n))
			w.mu.Unlock()
			if err != nil {
				return done, err
			}
		}
		done += n
	}
	return len(p), nil
}

func (w *Writer) batIndex(blk int64) int64 { return payloadIndex(blk, w.cr) }

// allocate returns block blk's file offset, giving it space at the end of
// the file when it has none. New space is a hole, so it reads as zeros.
func (w *Writer) allocate(blk int64) (int64, error) {
	idx := w.batIndex(blk)
	e := w.bat[idx]
	switch e & batStateMask {
	case payloadFullyPresent, payloadPartially:
		return int64(e >> 20 << 20), nil
	}
	wasZero := e&batStateMask != payloadNotPresent
	base := w.fileEnd
	w.fileEnd += int64(w.p.BlockSize)
	if err := w.f.Truncate(w.fileEnd); err != nil {
		return 0, err
	}
	state := uint64(payloadFullyPresent)
	if w.p.HasParent && !wasZero {
		// Sectors not written yet still belong to the parent. A block that
		// was ZERO (or unmapped) hides the parent, so its fresh zeros are
		// the right content for every sector: fully present.
		state = payloadPartially
	}
	w.bat[idx] = uint64(base) | state
	return base, nil
}

// markSectors sets the bitmap bits of written sectors of a partial block.
func (w *Writer) markSectors(blk, within, n int64) error {
	idx := w.batIndex(blk)
	if w.bat[idx]&batStateMask != payloadPartially {
		return nil
	}
	bm, err := w.chunkBitmap(blk / w.cr)
	if err != nil {
		return err
	}
	sec := int64(w.p.LogicalSectorSize)
	first, perBlock := blockBits(blk, w.cr, int64(w.p.BlockSize), sec)
	setBits(bm, first+within/sec, n/sec)
	// A block whose every sector is now here is fully present, as
	// Hyper-V records it; readers then need no bitmap for it.
	if allBitsSet(bm, first, perBlock) {
		w.bat[idx] = w.bat[idx]&^batStateMask | payloadFullyPresent
	}
	return nil
}

// chunkBitmap returns the in-memory sector bitmap block of chunk c,
// allocating it in the file when the chunk has none.
func (w *Writer) chunkBitmap(c int64) ([]byte, error) {
	if bm, ok := w.bitmaps[c]; ok {
		return bm, nil
	}
	idx := c*(w.cr+1) + w.cr
	bm := make([]byte, sectorBitmapBlock)
	if e := w.bat[idx]; e&batStateMask == sbPresent {
		if _, err := w.f.ReadAt(bm, int64(e>>20<<20)); err != nil {
			return nil, err
		}
	} else {
		base := w.fileEnd
		w.fileEnd += sectorBitmapBlock
		if err := w.f.Truncate(w.fileEnd); err != nil {
			return nil, err
		}
		w.bat[idx] = uint64(base) | sbPresent
	}
	w.bitmaps[c] = bm
	return bm, nil
}

// SetZero marks whole blocks as ZERO: they read as zeros and, in a
// differencing disk, hide the parent. off and n must be block aligned
// (n may end at the disk's end).
func (w *Writer) SetZero(off, n int64) error {
	first, end, err := wholeBlocks(w.name, off, n, int64(w.p.BlockSize), int64(w.p.VirtualSize))
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for blk := first; blk < end; blk++ {
		w.bat[w.batIndex(blk)] = payloadZero
	}
	return nil
}

// Flush writes the sector bitmaps and the BAT, syncs, then commits the
// change by writing the headers (each synced), so a crash before the
// headers leaves the old headers pointing at a consistent old state.
// Writes still running when Flush starts may or may not be in the state it
// commits.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	for c, bm := range w.bitmaps {
		e := w.bat[bitmapIndex(c, w.cr)]
		if err := w.pwrite(bm, int64(e>>20<<20)); err != nil {
			return err
		}
	}
	buf := make([]byte, len(w.bat)*8)
	for i, e := range w.bat {
		binary.LittleEndian.PutUint64(buf[8*i:], e)
	}
	if err := w.pwrite(buf, w.batOff); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	return w.writeHeaders()
}

// writeHeaders writes both headers, each with a higher sequence number
// than any before, syncing after each so one valid copy always exists.
func (w *Writer) writeHeaders() error {
	for _, off := range []int64{header1Off, header2Off} {
		w.h.Sequence++
		if err := w.pwrite(w.h.encode(), off); err != nil {
			return err
		}
		if err := w.f.Sync(); err != nil {
			return err
		}
	}
	return nil
}

// Close flushes and closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	err := w.flushLocked()
	w.closed = true
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", w.name, err)
	}
	return nil
}
