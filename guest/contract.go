package guest

import (
	"io"
	"io/fs"
	"strings"
	"time"
)

// The guest-filesystem contract.
//
// A filesystem reader plugs into ckptfs by offering an io/fs.FS: Open,
// ReadDir sorted by name, Stat, and io/fs.ReadLinkFS (ReadLink, Lstat)
// when it has links. Its files implement io.ReaderAt and io.Seeker.
// Everything io/fs cannot say is optional and found by type assertion:
// on FileInfo.Sys() for per-file metadata, on the fs.FS for what the
// filesystem as a whole can do, on the opened fs.File for its extents.
// A filesystem offering none of them still mounts and copies out, with
// path-based inode numbers, mtime for every time and no xattrs.
//
// The method names are the contract, not the interface types: a reader
// package implements them without importing guest (it must not: readers
// import nothing of ours). The adapter in guest/<name>.go asserts at
// compile time that the reader's types have them, e.g.
//
//	var _ guest.FileIdentity = (*ntfs.FileRecordInfo)(nil)
//
// The users of the contract (package fs, package diff, ckptfs cp and
// cat) reach files only through these interfaces and MetaOf; none of
// them imports a reader package.

// FileIdentity is implemented by a FileInfo.Sys() value whose filesystem
// knows an identity shared by all names of one file within one state of
// the volume (NTFS: the MFT record number; ext: the inode number). Names
// with the same identity are one inode (hard links). Keep it small: the
// mount uses identities below 2^42 as inode numbers directly.
type FileIdentity interface {
	FileID() uint64
}

// FileGenerationer is implemented by a FileInfo.Sys() value whose
// filesystem counts reuses of a file's identity (NTFS: the record's
// sequence number; ext: i_generation). Across two states of one volume, a
// name gone here and a name new there with the same FileID and Generation
// are one file renamed, not a reused slot.
type FileGenerationer interface {
	Generation() uint64
}

// LinkCounter gives the number of names a file has (st_nlink).
type LinkCounter interface {
	LinkCount() int
}

// POSIXAttributer is implemented by a FileInfo.Sys() value whose
// filesystem keeps POSIX permissions and owners (ext): the mount shows
// them as they are and `ckptfs cp` run as root restores them. perm holds
// the permission, set-id and sticky bits (07777).
type POSIXAttributer interface {
	POSIXAttributes() (perm, uid, gid uint32)
}

// AccessTimer gives a file's last access time (atime).
type AccessTimer interface {
	AccessTime() time.Time
}

// ChangeTimer gives a file's last metadata change time (ctime; NTFS: the
// MFT record change time).
type ChangeTimer interface {
	ChangeTime() time.Time
}

// CreationTimer gives a file's creation (birth) time.
type CreationTimer interface {
	CreationTime() time.Time
}

// WindowsAttributer gives a file's Windows FILE_ATTRIBUTE_* flags, shown
// as the xattr user.ckptfs.attributes. A filesystem that has them maps
// the read-only flag to the mode (0444) itself; `ckptfs cp` copies that
// mode.
type WindowsAttributer interface {
	WindowsAttributes() uint32
}

// StreamLister names a file's alternate data streams, not counting the
// unnamed main stream. StreamFS opens them.
type StreamLister interface {
	StreamNames() []string
}

// DeviceNumberer gives the major and minor numbers of a device node (ok
// false for any other file).
type DeviceNumberer interface {
	DeviceNumber() (major, minor uint32, ok bool)
}

// Xattrer gives the extended attributes of a file of a Linux filesystem,
// keyed by their full names as the kernel lists them ("user.x",
// "security.selinux", "trusted.x", "system.posix_acl_access" in the
// kernel's binary form). The mount answers getxattr and listxattr from
// them and `ckptfs cp --xattrs` sets them on the copy.
type Xattrer interface {
	Xattrs() (map[string][]byte, error)
}

// StreamFS is implemented by a filesystem that can open a named data
// stream of a file (NTFS alternate data streams). The returned file is
// read through io.ReaderAt when it has it, else sequentially.
type StreamFS interface {
	fs.FS
	OpenStream(name, stream string) (fs.File, error)
}

// POSIXLinker is implemented by a filesystem whose link targets are POSIX
// paths (ext): a backslash or "C:" is then part of a name. Link targets of
// any other filesystem follow the Windows rules (backslashes separate,
// drive letters name the volume root).
type POSIXLinker interface {
	POSIXLinks() bool
}

// Journaler is implemented by a filesystem with a log or journal that
// can be left dirty by a crash or a crash-consistent checkpoint (XFS).
// JournalState is "" when the log was clean, else what was done with it:
// "replayed (N transactions)" when it was applied in memory, or
// "NOT replayed, last checkpointed state shown: why" when the files read
// as a norecovery mount shows them. Volume.Journal holds it.
type Journaler interface {
	JournalState() string
}

// JournalReplayed reports whether a JournalState says the log was
// applied in memory; JournalSkipped whether it says it was not (the files
// show the last written-back state). Both are false for a clean log.
// Commands read the state through these, not by its words.
func JournalReplayed(state string) bool { return strings.HasPrefix(state, "replayed") }

// JournalSkipped: see JournalReplayed.
func JournalSkipped(state string) bool { return strings.HasPrefix(state, "NOT replayed") }

// DirLookuper is implemented by a filesystem that can describe one name
// of a directory starting from the directory's FileInfo (NTFS: its MFT
// reference) instead of resolving the whole path from the root again;
// `ls -l` of a directory of 100,000 files would otherwise walk the path
// once per name. dirPath is the directory's path, for a filesystem that
// needs it after all. The answer is the one Lstat of the joined path
// gives.
type DirLookuper interface {
	LookupIn(dirPath string, dir fs.FileInfo, name string) (fs.FileInfo, error)
}

// FoldLookuper is implemented by a filesystem that can match names as
// Windows does (NTFS, through the volume's $UpCase table): an exact match
// first, so names differing only in case stay distinct, then one equal
// ignoring case. LookupFoldIn is DirLookuper's LookupIn so matching;
// ResolveFold returns the path as stored that path names so matching.
type FoldLookuper interface {
	LookupFoldIn(dirPath string, dir fs.FileInfo, name string) (fs.FileInfo, error)
	ResolveFold(path string) (string, error)
}

// MetafileShower is implemented by a filesystem whose metadata files
// (NTFS: $MFT, $LogFile, $Secure, $Extend, ...) are found by name but left
// out of listings unless asked for.
type MetafileShower interface {
	SetShowMetafiles(show bool)
}

// InfoOpener is implemented by a filesystem that can open a file from the
// FileInfo it gave for it (NTFS: by its MFT record) without resolving its
// path again; the mount opens every file it looks up to count its
// allocated blocks. name is the file's path, for a filesystem that needs
// it after all and for messages.
type InfoOpener interface {
	OpenInfo(name string, fi fs.FileInfo) (fs.File, error)
}

// ExtentMapper is implemented by an open file that can tell where its
// bytes lie on its volume. The mount answers reads of an exactly mapped
// file with views of the disk instead of copies, reports allocated blocks
// (st_blocks) and answers SEEK_DATA/SEEK_HOLE from the extents; diff
// compares only the bytes that lie in changed ranges.
//
// exts are in file order and do not overlap; they may leave gaps (read as
// absent) and the last one may run past the file size to the end of its
// block. exact reports whether every ExtentData extent holds the file's
// bytes one to one: false for compressed, encrypted or inline content,
// or when some bytes are not stored as they read.
type ExtentMapper interface {
	Extents() (exts []Extent, exact bool, err error)
}

// HoleMapper is implemented by an open file whose ExtentAbsent and
// ExtentZero extents are holes of its content (they read as zeros) even
// when Extents says exact is false: an NTFS stream that is not compressed
// but read as zeros past its initialized size. Without it, or when
// HolesExact is false, only an exact mapping's holes are taken for holes
// (in an NTFS compressed stream a sparse run is often the space
// compression saved).
type HoleMapper interface {
	HolesExact() bool
}

// ExtentKind says what a range of a file holds.
type ExtentKind uint8

// Extent kinds. The zero value is ExtentData, so a literal with an offset
// and a length is a data extent.
const (
	// ExtentData: the bytes lie on the volume at VolOff.
	ExtentData ExtentKind = iota
	// ExtentZero: space is allocated at VolOff but the range reads as
	// zeros (an ext4 unwritten extent). It counts as allocated and is a
	// hole for SEEK_HOLE, as the kernel's ext4 reports it.
	ExtentZero
	// ExtentAbsent: nothing is allocated (a sparse hole); reads as zeros.
	ExtentAbsent
)

func (k ExtentKind) String() string {
	switch k {
	case ExtentData:
		return "data"
	case ExtentZero:
		return "zero"
	case ExtentAbsent:
		return "absent"
	}
	return "unknown"
}

// Extent maps Len bytes of a file, from byte FileOff, onto the volume.
type Extent struct {
	FileOff int64
	// VolOff is the volume offset of the first byte for ExtentData and
	// ExtentZero, -1 for ExtentAbsent.
	VolOff int64
	Len    int64
	Kind   ExtentKind
}

// End returns FileOff+Len.
func (e Extent) End() int64 { return e.FileOff + e.Len }

// readerExtent is one extent as the Linux readers (ext, XFS, btrfs) give
// it: a hole (sparse) is absent, an unwritten or preallocated extent is
// allocated zeros, anything else data.
func readerExtent(fileOff, volOff, n int64, sparse, zero bool) Extent {
	switch {
	case sparse:
		return Extent{FileOff: fileOff, VolOff: -1, Len: n, Kind: ExtentAbsent}
	case zero:
		return Extent{FileOff: fileOff, VolOff: volOff, Len: n, Kind: ExtentZero}
	}
	return Extent{FileOff: fileOff, VolOff: volOff, Len: n}
}

// mapExtents converts a reader's extents (and passes its exact and
// error through) with conv.
func mapExtents[E any](exts []E, exact bool, err error, conv func(E) Extent) ([]Extent, bool, error) {
	if err != nil {
		return nil, false, err
	}
	out := make([]Extent, len(exts))
	for i, e := range exts {
		out[i] = conv(e)
	}
	return out, exact, nil
}

// Allocated reports whether the extent takes space on the volume.
func (e Extent) Allocated() bool { return e.Kind != ExtentAbsent }

// Hole reports whether the extent reads as zeros without data behind it:
// what SEEK_HOLE finds and what a sparse copy skips.
func (e Extent) Hole() bool { return e.Kind != ExtentData }

// AllocatedBytes sums the allocated extents that start before size (the
// last one may run past the file end to the end of its block, as the
// filesystem allocated it).
func AllocatedBytes(exts []Extent, size int64) int64 {
	var n int64
	for _, e := range exts {
		if e.Allocated() && e.FileOff < size {
			n += e.Len
		}
	}
	return n
}

// StreamFile is a data stream opened by record (see RecordFS).
type StreamFile interface {
	io.ReaderAt
	ExtentMapper
	Size() int64
}
