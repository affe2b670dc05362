package ntfs

import "time"

// The methods below let a FileRecordInfo (what fs.FileInfo.Sys returns)
// be read through small interfaces instead of its concrete type: a
// program that mounts or copies files from several filesystems asks each
// FileInfo.Sys() for FileID, LinkCount, the times and so on, and does not
// need to know this package. (ckptfs's package guest names these
// interfaces.)

// FileID is the file's identity within the volume, shared by all its hard
// links: its record number (one state of a volume holds one file per
// record). Generation tells reuses of the record apart across states.
func (fi *FileRecordInfo) FileID() uint64 { return fi.Ref.Record }

// Generation is the record's sequence number, which NTFS increments each
// time the record is freed: a file seen in two states of a volume with the
// same FileID and Generation is the same file.
func (fi *FileRecordInfo) Generation() uint64 { return uint64(fi.Ref.Seq) }

// LinkCount is Links: the file's names that are not DOS-only 8.3 names.
func (fi *FileRecordInfo) LinkCount() int { return fi.Links }

// AccessTime is Accessed.
func (fi *FileRecordInfo) AccessTime() time.Time { return fi.Accessed }

// ChangeTime is Changed, the MFT record change time.
func (fi *FileRecordInfo) ChangeTime() time.Time { return fi.Changed }

// CreationTime is Created.
func (fi *FileRecordInfo) CreationTime() time.Time { return fi.Created }

// WindowsAttributes returns the FILE_ATTRIBUTE_* flags.
func (fi *FileRecordInfo) WindowsAttributes() uint32 { return uint32(fi.Attributes) }

// StreamNames lists the names of the named $DATA streams a reader of the
// file sees, sorted: all but the one holding a WOF file's content.
func (fi *FileRecordInfo) StreamNames() []string {
	if len(fi.Streams) == 0 {
		return nil
	}
	// The WofCompressedData stream of a WOF file is where its content is
	// stored, which the file reads as decoded; Windows' WOF driver hides
	// it too. (It still opens by name, and fi.Streams lists it.)
	wof := fi.Reparse != nil && fi.Reparse.Tag == TagWOF && fi.Reparse.wofError(fi.Ref.Record) == nil
	out := make([]string, 0, len(fi.Streams))
	for _, s := range fi.Streams {
		if wof && s.Name == wofStreamName {
			continue
		}
		out = append(out, s.Name)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// FileID is the identity of the entry's file (see FileRecordInfo.FileID),
// known without reading its record.
func (d *dirEntry) FileID() uint64 { return d.ref.Record }

// CompressionUnit returns the length in bytes of the open stream's LZNT1
// compression units, 0 when it is not compressed. In a compressed stream a
// sparse extent inside a unit that also holds clusters is the space the
// compression saved, not a hole of the content.
func (f *File) CompressionUnit() int64 {
	if f.s == nil || f.s.cuShift == 0 {
		return 0
	}
	return f.s.cs << f.s.cuShift
}
