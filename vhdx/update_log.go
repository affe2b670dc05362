package vhdx

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// Commit makes the changes since the last Commit part of the file, in
// this order, each step synced before the next: bitmap blocks new in
// this session (nothing points at them yet) and the data filled before;
// one log entry holding every changed page of the BAT, the sector bitmaps
// and the metadata region; the header naming the log (the commit point:
// from here on a reader replays the entry); the pages in place; the
// header without the log. Fails when the pages do not fit the log
// (see Pending and MaxPending): commit more often.
func (u *Update) Commit() error {
	for c := range u.bmNew {
		e := u.bat[bitmapIndex(c, u.cr)]
		if _, err := u.f.WriteAt(u.bitmaps[c], int64(e>>20<<20)); err != nil {
			return fmt.Errorf("%s: %w", u.name, err)
		}
	}
	if err := u.sync("data"); err != nil {
		return err
	}
	writes := u.collect()
	if len(writes) == 0 {
		return nil
	}
	if len(writes) > u.MaxPending() {
		return fmt.Errorf("%s: %w: %d metadata pages exceed the %d-byte log", u.name, ErrUnsupported, len(writes), u.logLen)
	}
	if err := u.logged(writes); err != nil {
		return err
	}
	u.batDirty, u.bmNew, u.bmDirty = map[int64]bool{}, map[int64]bool{}, map[int64]map[int64]bool{}
	u.metaOrig = append(u.metaOrig[:0], u.meta...)
	return nil
}

// collect gathers the changed pages, sorted by file offset.
func (u *Update) collect() []logWrite {
	var ws []logWrite
	batBytes := make([]byte, logPage)
	for pg := range u.batDirty {
		clear(batBytes)
		for i := int64(0); i < logPage/8; i++ {
			if idx := pg*logPage/8 + i; idx < int64(len(u.bat)) {
				binary.LittleEndian.PutUint64(batBytes[8*i:], u.bat[idx])
			}
		}
		ws = append(ws, logWrite{off: u.batOff + pg*logPage, data: append([]byte(nil), batBytes...)})
	}
	for c, pgs := range u.bmDirty {
		base := int64(u.bat[bitmapIndex(c, u.cr)] >> 20 << 20)
		for pg := range pgs {
			ws = append(ws, logWrite{off: base + pg*logPage, data: u.bitmaps[c][pg*logPage : (pg+1)*logPage]})
		}
	}
	for _, pg := range u.metaPages() {
		ws = append(ws, logWrite{off: u.metaOff + pg*logPage, data: u.meta[pg*logPage : (pg+1)*logPage]})
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].off < ws[j].off })
	return ws
}

// logged carries writes through the log (the protocol of [MS-VHDX] 2.3).
func (u *Update) logged(ws []logWrite) error {
	st, err := u.f.Stat()
	if err != nil {
		return err
	}
	g := NewGUID()
	// One entry, the tail of its own sequence at the start of the log;
	// everything it points at is already in the file, so flushed and
	// last are both the file size.
	entry := encodeLogEntry(logEntryParams{seq: 1, tail: 0, guid: g, flushed: st.Size(), last: st.Size()}, ws)
	if _, err := u.f.WriteAt(entry, u.logOff); err != nil {
		return fmt.Errorf("%s: writing the log: %w", u.name, err)
	}
	if err := u.sync("log written"); err != nil {
		return err
	}
	if !u.newFWG {
		u.h.FileWriteGUID, u.newFWG = NewGUID(), true
	}
	u.h.LogGUID = g
	if err := u.writeHeaders("log active"); err != nil {
		return err
	}
	for _, w := range ws {
		if _, err := u.f.WriteAt(w.data, w.off); err != nil {
			return fmt.Errorf("%s: applying the log: %w", u.name, err)
		}
	}
	if err := u.sync("log applied"); err != nil {
		return err
	}
	u.h.LogGUID = GUID{}
	return u.writeHeaders("log cleared")
}

// writeHeaders writes both headers, each with a higher sequence number
// than any before and synced before the next, so one valid current copy
// always exists. The first write is the atomic step.
func (u *Update) writeHeaders(step string) error {
	for _, off := range []int64{header1Off, header2Off} {
		u.h.Sequence++
		if _, err := u.f.WriteAt(u.h.encode(), off); err != nil {
			return fmt.Errorf("%s: writing header: %w", u.name, err)
		}
		if err := u.f.Sync(); err != nil {
			return fmt.Errorf("%s: sync: %w", u.name, err)
		}
	}
	return u.durable(step)
}

// applyPendingLog writes what a replay of the file's log would show into
// the file, then clears the header's log id, as a writer must before
// changing a file an earlier writer left dirty.
func (u *Update) applyPendingLog(d *Disk) error {
	u.h = d.vhdx.header
	if ov, ok := d.r.(*overlay); ok {
		for _, s := range ov.segs {
			data := s.data
			if data == nil {
				data = make([]byte, s.len) // bounded: a replayed zero descriptor inside the log's file size
			}
			if _, err := u.f.WriteAt(data, s.off); err != nil {
				return err
			}
		}
		if ov.size > ov.baseSize {
			if err := u.f.Truncate(ov.size); err != nil {
				return err
			}
		}
	}
	if err := u.sync("old log applied"); err != nil {
		return err
	}
	u.h.LogGUID = GUID{}
	return u.writeHeaders("old log cleared")
}
