package guest

import "io/fs"

// RecordFS is implemented by a filesystem that keeps each file's metadata
// in numbered records at known places of its volume (NTFS: MFT records),
// each naming its parents, so that two states of one volume can
// be compared by reading only the records that lie in the byte ranges that
// changed, instead of walking both trees. Package diff uses it when both
// states of a volume offer it and the volume did not move; a filesystem
// whose inodes do not name their parents offers InodeFS instead; any other
// is compared by a walk.
//
// Record numbers run from 0 to RecordSlots()-1 and are the same file's in
// both states unless Gen differs. Every method reads one state only.
type RecordFS interface {
	// RecordName is what a record is called in messages ("MFT record").
	RecordName() string
	// RecordSlots is the number of record slots.
	RecordSlots() uint64
	// RecordFilesIn returns the numbers of the records with a byte in the
	// volume range [off, end), each replaced by the number of the file it
	// belongs to when it continues another record (an NTFS extension
	// record). Hidden metadata files are left out. A record whose header
	// cannot be read is listed, so that FileRecord reports the damage.
	RecordFilesIn(off, end int64) []uint64
	// FileRecord describes the file in record num. ok is false, with a nil
	// error, when the slot holds no live file (free, deleted, the
	// continuation of another record, a hidden metadata file); a damaged
	// record gives an error.
	FileRecord(num uint64) (r FileRecord, ok bool, err error)
	// OpenRecordStream opens a data stream of the file in record num;
	// stream "" is the main one.
	OpenRecordStream(num uint64, stream string) (StreamFile, error)
}

// FileRecord is what a RecordFS says about the file in one record.
type FileRecord struct {
	// Gen tells reuses of one slot apart (NTFS: the sequence number): a
	// record with another Gen holds another file.
	Gen uint64
	// Info describes the file; its Sys() offers the contract's optional
	// interfaces (times, attributes, streams, link count).
	Info fs.FileInfo
	// Paths are the file's visible paths in the volume, one per hard link,
	// sorted; empty for a file in a hidden directory.
	Paths []string
	// Target is what a link or reparse point points at, as text to
	// compare; "" for anything else.
	Target string
}
