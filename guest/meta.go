package guest

import (
	"io"
	"io/fs"
	"time"
)

// FileMeta is what the contract's optional interfaces say about one file,
// gathered once from its FileInfo.Sys() so that the mount, `ckptfs cp`
// and diff read the same fields the same way.
type FileMeta struct {
	ID                   uint64 // FileIdentity; valid when HasID
	HasID                bool
	Gen                  uint64 // FileGenerationer; valid when HasGen
	HasGen               bool
	Crtime, Atime, Ctime time.Time // zero when unknown
	Attrs                uint32    // WindowsAttributer; valid when HasAttrs
	HasAttrs             bool
	Nlink                int      // LinkCounter; 0 when unknown
	Streams              []string // StreamLister
	POSIX                bool     // Perm, UID and GID are the guest's (POSIXAttributer)
	Perm, UID, GID       uint32
	Major, Minor         uint32 // DeviceNumberer; valid when HasDev
	HasDev               bool
	// Xattrs is set when the file has extended attributes (Xattrer); they
	// are read when asked for, by ReadXattrs.
	Xattrs bool
}

// MetaOf reads the optional interfaces of fi.Sys(). A nil fi gives the
// zero FileMeta.
func MetaOf(fi fs.FileInfo) FileMeta {
	var m FileMeta
	if fi == nil {
		return m
	}
	sys := fi.Sys()
	if v, ok := sys.(FileIdentity); ok {
		m.ID, m.HasID = v.FileID(), true
	}
	if v, ok := sys.(FileGenerationer); ok {
		m.Gen, m.HasGen = v.Generation(), true
	}
	if v, ok := sys.(CreationTimer); ok {
		m.Crtime = v.CreationTime()
	}
	if v, ok := sys.(AccessTimer); ok {
		m.Atime = v.AccessTime()
	}
	if v, ok := sys.(ChangeTimer); ok {
		m.Ctime = v.ChangeTime()
	}
	if v, ok := sys.(WindowsAttributer); ok {
		m.Attrs, m.HasAttrs = v.WindowsAttributes(), true
	}
	if v, ok := sys.(LinkCounter); ok {
		m.Nlink = v.LinkCount()
	}
	if v, ok := sys.(POSIXAttributer); ok {
		m.Perm, m.UID, m.GID = v.POSIXAttributes()
		m.POSIX = true
	}
	if v, ok := sys.(StreamLister); ok {
		m.Streams = v.StreamNames()
	}
	if v, ok := sys.(DeviceNumberer); ok {
		m.Major, m.Minor, m.HasDev = v.DeviceNumber()
	}
	_, m.Xattrs = sys.(Xattrer)
	return m
}

// ReadXattrs returns the extended attributes of fi (nil when its
// filesystem keeps none).
func ReadXattrs(fi fs.FileInfo) (map[string][]byte, error) {
	if fi == nil {
		return nil, nil
	}
	if x, ok := fi.Sys().(Xattrer); ok {
		return x.Xattrs()
	}
	return nil, nil
}

// EntryID returns the identity a directory entry carries without its
// file's metadata being read (NTFS: the MFT reference in the index entry),
// so a listing of a huge directory reads only the index.
func EntryID(e fs.DirEntry) (uint64, bool) {
	if v, ok := e.(FileIdentity); ok {
		return v.FileID(), true
	}
	return 0, false
}

// CanOpenStreams reports whether fsys can open named streams.
func CanOpenStreams(fsys fs.FS) bool {
	_, ok := fsys.(StreamFS)
	return ok
}

// OpenStream opens one named stream of the file at name, or fails with
// fs.ErrNotExist when fsys has no streams.
func OpenStream(fsys fs.FS, name, stream string) (io.ReadCloser, error) {
	s, ok := fsys.(StreamFS)
	if !ok {
		return nil, &fs.PathError{Op: "openstream", Path: name + ":" + stream, Err: fs.ErrNotExist}
	}
	return s.OpenStream(name, stream)
}

// OpenFile opens the file at name, which fi describes (see InfoOpener).
func OpenFile(fsys fs.FS, name string, fi fs.FileInfo) (fs.File, error) {
	if o, ok := fsys.(InfoOpener); ok && fi != nil {
		return o.OpenInfo(name, fi)
	}
	return fsys.Open(name)
}

// FileExtents returns the extents of an open file, or ok false when it
// cannot tell them.
func FileExtents(f fs.File) (exts []Extent, exact, ok bool, err error) {
	m, ok := f.(ExtentMapper)
	if !ok {
		return nil, false, false, nil
	}
	exts, exact, err = m.Extents()
	return exts, exact, true, err
}

// LinksArePOSIX reports whether the link targets of fsys are POSIX paths
// (see POSIXLinker).
func LinksArePOSIX(fsys fs.FS) bool {
	pl, ok := fsys.(POSIXLinker)
	return ok && pl.POSIXLinks()
}
