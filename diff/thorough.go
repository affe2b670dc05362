package diff

import (
	"context"
	"fmt"

	"github.com/ckptfs/ckptfs/ntfs"
)

// maxScanNotes bounds the notes one state's scan adds for unreadable
// records, so that a badly damaged MFT gives a count, not thousands of
// lines.
const maxScanNotes = 10

// dataFiles adds to hit the base record numbers of the files of one state
// that have a data extent (any $DATA stream, unnamed or named, non-resident
// and not sparse) meeting the sorted changed spans (volume offsets). These
// are the files whose clusters were written without their MFT record
// changing (a write below the file system), which the record-based
// candidates of changedFiles cannot see.
//
// Every in-use base record of $MFT is read and its runlists decoded, so the
// cost follows the size of the MFT, not of the disk or of the change; no
// file data is read. Each extent is looked up by binary search in the
// changed spans, so nothing is kept per extent. Records already in hit are
// skipped. A record that cannot be read is not fatal: it is named in the
// returned notes (up to maxScanNotes, then counted) and the scan goes on.
func dataFiles(ctx context.Context, vol, state string, st *ntfsState, changed []span, hit map[int64]bool) ([]string, error) {
	if len(changed) == 0 {
		return nil, nil
	}
	var notes []string
	bad := 0
	for num := int64(firstUserRecord); uint64(num) < st.vol.Records(); num++ {
		if (num-firstUserRecord)%256 == 0 {
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
				notes = append(notes, fmt.Sprintf("%s: MFT record %d of %s not scanned for changed data: %v", vol, num, state, err))
			}
			continue
		}
		if meets {
			hit[num] = true
		}
	}
	if bad > maxScanNotes {
		notes = append(notes, fmt.Sprintf("%s: %d more MFT records of %s not scanned for changed data", vol, bad-maxScanNotes, state))
	}
	return notes, nil
}

// dataMeets reports whether the file in base record num has a data extent
// in the changed spans. Free slots, deleted files and extension records
// (their runs count for their base record) do not.
func (st *ntfsState) dataMeets(num int64, changed []span) (bool, error) {
	fi, err := st.vol.Record(uint64(num))
	if err != nil {
		// Record refuses free slots and extension records too; only
		// the header, read just for these, tells them from damage. Most
		// records are in-use base records, so most are read once.
		h, herr := st.header(num)
		if herr == nil && (!h.Present || !h.InUse || h.Base.Record != 0) {
			return false, nil
		}
		return false, err
	}
	if !fi.InUse {
		return false, nil
	}
	names := make([]string, 0, 1+len(fi.Streams))
	if !fi.Dir { // a directory has no unnamed $DATA, only its index
		names = append(names, "")
	}
	for _, s := range fi.Streams {
		names = append(names, s.Name)
	}
	for _, name := range names {
		f, err := st.vol.OpenRecord(uint64(num), name)
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
func extentsMeet(exts []ntfs.Extent, changed []span) bool {
	for _, e := range exts {
		if !e.Sparse && e.Len > 0 && overlaps(changed, e.VolOff, e.VolOff+e.Len) {
			return true
		}
	}
	return false
}
