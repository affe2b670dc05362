package ntfs

import (
	"encoding/binary"
	"io/fs"
	"slices"
	"sort"
	"time"
	"unique"
)

// Attributes are the Windows file attribute flags (FILE_ATTRIBUTE_*), as
// kept in $STANDARD_INFORMATION.
type Attributes uint32

// Windows file attribute flags.
const (
	AttrReadOnly          Attributes = 0x0001
	AttrHidden            Attributes = 0x0002
	AttrSystem            Attributes = 0x0004
	AttrDirectory         Attributes = 0x0010
	AttrArchive           Attributes = 0x0020
	AttrDevice            Attributes = 0x0040
	AttrNormal            Attributes = 0x0080
	AttrTemporary         Attributes = 0x0100
	AttrSparse            Attributes = 0x0200
	AttrReparsePoint      Attributes = 0x0400
	AttrCompressed        Attributes = 0x0800
	AttrOffline           Attributes = 0x1000
	AttrNotContentIndexed Attributes = 0x2000
	AttrEncrypted         Attributes = 0x4000
	// attrDupDirectory marks a directory in $FILE_NAME copies of the flags.
	attrDupDirectory Attributes = 0x10000000
)

// Namespace says which naming rules a $FILE_NAME follows.
type Namespace uint8

// $FILE_NAME namespaces. A file with a long name that is also a valid 8.3
// name has one Win32AndDOS name; otherwise Windows gives it a Win32 name and
// a separate DOS name, which this package hides from listings.
const (
	NamespacePOSIX       Namespace = 0
	NamespaceWin32       Namespace = 1
	NamespaceDOS         Namespace = 2
	NamespaceWin32AndDOS Namespace = 3
)

// FileName is one $FILE_NAME attribute: one name of the file in one
// directory. A file with several hard links has several.
type FileName struct {
	Parent    Ref // the directory holding this name
	Name      string
	Namespace Namespace
}

// StreamInfo describes one named $DATA stream (alternate data stream).
type StreamInfo struct {
	Name string
	Size int64
}

// FileRecordInfo is what an MFT record says about one file or directory:
// everything io/fs cannot carry. fs.FileInfo.Sys returns one.
type FileRecordInfo struct {
	Ref   Ref  // record number and sequence: the file's identity across hard links
	InUse bool // the record holds a live file (Record can return deleted ones)
	Dir   bool
	// Times from $STANDARD_INFORMATION.
	Created, Modified, Changed, Accessed time.Time
	Attributes                           Attributes
	// Links counts the file's names that are not DOS-only 8.3 names: its
	// hard links as a POSIX reader sees them.
	Links int
	// Names lists every $FILE_NAME, DOS names included, in record order.
	Names []FileName
	// Size is the length of the unnamed $DATA stream (0 for a directory).
	Size int64
	// AllocatedSize is the space the unnamed $DATA stream occupies on disk
	// (compressed size for compressed files).
	AllocatedSize int64
	// Streams lists the named $DATA streams, sorted by name.
	Streams []StreamInfo
	// Reparse is set for reparse points (symlinks, junctions, WOF...) and
	// for Interix symlinks as written by ntfs-3g.
	Reparse *Reparse
	// EAs holds the extended attributes ($EA) by name, nil when none.
	EAs map[string][]byte
	// LX is the POSIX metadata WSL keeps in extended attributes, or nil.
	LX *LXAttributes
	// SecurityID names the file's security descriptor in $Secure (0:
	// none, or a volume older than NTFS 3.0; see SecurityDescriptor).
	SecurityID uint32

	v *Volume // for SecurityDescriptor
	// sd is a $SECURITY_DESCRIPTOR attribute's value, interned: files
	// written by ntfs-3g each carry one, nearly always the same bytes,
	// and a slice of the record would keep the whole decoded record
	// alive as long as the FileInfo (a FUSE inode keeps it).
	sd    unique.Handle[string]
	hasSD bool
}

// IsSymlink reports whether the file is a symbolic link or junction that a
// POSIX reader should show as a symlink.
func (fi *FileRecordInfo) IsSymlink() bool {
	return fi.Reparse != nil && fi.Reparse.IsLink()
}

// ntfsEpochDelta is the number of seconds from 1601-01-01 to 1970-01-01.
const ntfsEpochDelta = 11644473600

// ntfsTime converts 100 ns intervals since 1601-01-01 UTC to a time.
func ntfsTime(v uint64) time.Time {
	secs := int64(v / 1e7)
	return time.Unix(secs-ntfsEpochDelta, int64(v%1e7)*100).UTC()
}

// decodeStdInfo fills times and attributes from $STANDARD_INFORMATION.
func decodeStdInfo(fi *FileRecordInfo, b []byte, off int64) error {
	if len(b) < 0x24 {
		return formatErr(off, "$STANDARD_INFORMATION of %d bytes", len(b))
	}
	fi.Created = ntfsTime(binary.LittleEndian.Uint64(b[0:]))
	fi.Modified = ntfsTime(binary.LittleEndian.Uint64(b[8:]))
	fi.Changed = ntfsTime(binary.LittleEndian.Uint64(b[0x10:]))
	fi.Accessed = ntfsTime(binary.LittleEndian.Uint64(b[0x18:]))
	fi.Attributes = Attributes(binary.LittleEndian.Uint32(b[0x20:]))
	if len(b) >= 0x38 {
		fi.SecurityID = binary.LittleEndian.Uint32(b[0x34:])
	}
	return nil
}

// fileNameKey is a decoded $FILE_NAME value, as in a record or as the key
// of a directory index entry.
type fileNameKey struct {
	FileName
	Size  int64
	Flags Attributes
	Tag   uint32 // reparse tag, when Flags has AttrReparsePoint
	Raw   []byte // UTF-16LE name, for collation
}

// fileNameRaw returns the UTF-16LE name inside the $FILE_NAME value b,
// bounds-checked but not decoded: collation needs only these bytes.
func fileNameRaw(b []byte, off int64) ([]byte, error) {
	if len(b) < 0x42 {
		return nil, formatErr(off, "$FILE_NAME of %d bytes", len(b))
	}
	n := int(b[0x40])
	if 0x42+2*n > len(b) {
		return nil, formatErr(off, "$FILE_NAME name of %d characters runs past its value", n)
	}
	return b[0x42 : 0x42+2*n], nil
}

// decodeFileName decodes a $FILE_NAME value b found at volume offset off.
func decodeFileName(b []byte, off int64) (fileNameKey, error) {
	raw, err := fileNameRaw(b, off)
	if err != nil {
		return fileNameKey{}, err
	}
	k := fileNameKey{
		Size:  int64(binary.LittleEndian.Uint64(b[0x30:])),
		Flags: Attributes(binary.LittleEndian.Uint32(b[0x38:])),
		Tag:   binary.LittleEndian.Uint32(b[0x3C:]),
		Raw:   raw,
	}
	k.Parent = refFrom(binary.LittleEndian.Uint64(b))
	k.Namespace = Namespace(b[0x41])
	k.Name = decodeUTF16(k.Raw)
	return k, nil
}

// decodeInfoInto fills fi (the caller allocates it, with its node) with
// what the attributes of a file say.
func (v *Volume) decodeInfoInto(fi *FileRecordInfo, rec *mftRecord, attrs []*attribute) error {
	*fi = FileRecordInfo{
		Ref:   Ref{Record: rec.Num, Seq: rec.Seq},
		InUse: rec.Flags&recInUse != 0,
		Dir:   rec.Flags&recDirectory != 0,
		v:     v,
	}
	var streams map[string]int64 // named streams: most files have none
	for _, a := range attrs {
		switch a.Type {
		case attrStandardInfo:
			if err := decodeStdInfo(fi, a.Value, a.Off); err != nil {
				return err
			}
		case attrFileName:
			k, err := decodeFileName(a.Value, a.Off)
			if err != nil {
				return err
			}
			fi.Names = append(fi.Names, k.FileName)
			if k.Namespace != NamespaceDOS {
				fi.Links++
			}
		case attrData:
			size, alloc := int64(len(a.Value)), int64(len(a.Value))
			if a.NonResident {
				if a.StartVCN != 0 {
					continue // a later piece: sizes are in the first
				}
				size, alloc = a.DataSize, a.AllocSize
			}
			if a.Name == "" {
				fi.Size, fi.AllocatedSize = size, alloc
			} else {
				if streams == nil {
					streams = map[string]int64{}
				}
				streams[a.Name] = size
			}
		case attrSecurityDescriptor:
			if val, err := v.readAttrValue(a, maxSDSize); err == nil {
				fi.sd, fi.hasSD = unique.Make(string(val)), true
			}
		case attrEA:
			if val, err := v.readAttrValue(a, maxEASize); err == nil {
				fi.EAs = parseEAs(ownBytes(a, val))
				fi.LX = lxFromEAs(fi.EAs)
			}
		case attrReparsePoint:
			val, err := v.readAttrValue(a, 64<<10)
			if err != nil {
				return err
			}
			if fi.Reparse, err = parseReparse(ownBytes(a, val), a.Off); err != nil {
				return err
			}
		}
	}
	for name, size := range streams {
		fi.Streams = append(fi.Streams, StreamInfo{Name: name, Size: size})
	}
	if len(fi.Streams) > 1 {
		sort.Slice(fi.Streams, func(i, j int) bool { return fi.Streams[i].Name < fi.Streams[j].Name })
	}
	return nil
}

// ownBytes returns the value val of attribute a in memory of its own: a
// resident value is a slice of its record, which a FileRecordInfo must
// not keep alive (the node cache bounds the records, not the FileInfos
// callers keep).
func ownBytes(a *attribute, val []byte) []byte {
	if a.NonResident {
		return val
	}
	return slices.Clone(val)
}

// fileInfo is the fs.FileInfo of one name of a file.
type fileInfo struct {
	name string
	rec  *FileRecordInfo
}

func (i *fileInfo) Name() string       { return i.name }
func (i *fileInfo) Size() int64        { return i.rec.Size }
func (i *fileInfo) ModTime() time.Time { return i.rec.Modified }
func (i *fileInfo) IsDir() bool        { return i.Mode().IsDir() }
func (i *fileInfo) Sys() any           { return i.rec }

// Mode maps NTFS attributes to POSIX-like bits: symlinks and junctions are
// symlinks, read-only files lose their write bits.
func (i *fileInfo) Mode() fs.FileMode {
	r := i.rec
	var m fs.FileMode
	switch {
	case r.IsSymlink():
		return fs.ModeSymlink | 0o777
	case r.Dir:
		m = fs.ModeDir | 0o755
	case r.Attributes&AttrReadOnly != 0:
		m = r.specialType() | 0o444
	default:
		m = r.specialType() | 0o644
	}
	if r.LX != nil && r.LX.HasMode {
		// WSL's own bits: set-id and sticky ones map to io/fs flags.
		lm := r.LX.Mode
		m = m&^fs.ModePerm | fs.FileMode(lm&0o777)
		if lm&0o4000 != 0 {
			m |= fs.ModeSetuid
		}
		if lm&0o2000 != 0 {
			m |= fs.ModeSetgid
		}
		if lm&0o1000 != 0 {
			m |= fs.ModeSticky
		}
	}
	return m
}
