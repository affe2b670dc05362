package diff

import (
	"context"
	"fmt"

	"github.com/ckptfs/ckptfs/guest"
)

// maxScanNotes bounds the notes one state's scan adds for unreadable
// records, so that a badly damaged MFT gives a count, not thousands of
// lines.
const maxScanNotes = 10

// dataFiles adds to hit the record numbers of the files of one state that
// have a data extent (any data stream, unnamed or named, mapped and not a
// hole) meeting the sorted changed spans (volume offsets). These
// are the files whose clusters were written without their MFT record
// changing (a write below the file system), which the record-based
// candidates of changedFiles cannot see.
//
// Every live record is read and its extents mapped, so the cost follows
// the number of records (NTFS: the size of the MFT), not of the disk or of
// the change; no file data is read. Each extent is looked up by binary search in the
// changed spans, so nothing is kept per extent. Records already in hit are
// skipped. A record that cannot be read is not fatal: it is named in the
// returned notes (up to maxScanNotes, then counted) and the scan goes on.
func dataFiles(ctx context.Context, vol, state string, st *recordState, changed []span, hit map[uint64]bool) ([]string, error) {
	if len(changed) == 0 {
		return nil, nil
	}
	var notes []string
	bad := 0
	for num := uint64(0); num < st.fs.RecordSlots(); num++ {
		if num%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if hit[num] {
			continue
		}
		meets, err := st.dataMeets(num, changed)
		if err != nil {
			if bad++; bad <= maxScanNotes {
				notes = append(notes, fmt.Sprintf("%s: %s %d of %s not scanned for changed data: %v", vol, st.fs.RecordName(), num, state, err))
			}
			continue
		}
		if meets {
			hit[num] = true
		}
	}
	if bad > maxScanNotes {
		notes = append(notes, fmt.Sprintf("%s: %d more %ss of %s not scanned for changed data", vol, bad-maxScanNotes, st.fs.RecordName(), state))
	}
	return notes, nil
}

// dataMeets reports whether the file in record num has a data extent in
// the changed spans. Free slots, deleted files and continuation records
// (their extents count for their file's record) do not.
func (st *recordState) dataMeets(num uint64, changed []span) (bool, error) {
	r, ok, err := st.fs.FileRecord(num)
	if err != nil || !ok {
		return false, err
	}
	meta := guest.MetaOf(r.Info)
	names := make([]string, 0, 1+len(meta.Streams))
	if !r.Info.IsDir() { // a directory has no main data stream, only its index
		names = append(names, "")
	}
	names = append(names, meta.Streams...)
	for _, name := range names {
		f, err := st.fs.OpenRecordStream(num, name)
		if err != nil {
			return false, fmt.Errorf("stream %q: %w", name, err)
		}
		exts, _, err := f.Extents()
		if err != nil {
			return false, fmt.Errorf("stream %q: %w", name, err)
		}
		if extentsMeet(exts, changed) {
			return true, nil
		}
	}
	return false, nil
}

// extentsMeet reports whether any allocated extent meets the sorted spans.
func extentsMeet(exts []guest.Extent, changed []span) bool {
	for _, e := range exts {
		if !e.Hole() && e.Len > 0 && overlaps(changed, e.VolOff, e.VolOff+e.Len) {
			return true
		}
	}
	return false
}
