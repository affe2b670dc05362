package guest

import (
	"io"
	"io/fs"
	"path"

	"github.com/ckptfs/ckptfs/ext"
)

// extFS adapts package ext to the contract: the *ext.FS is an fs.FS with
// ReadLink and Lstat, its FileInfo.Sys() values have the contract's
// metadata methods; the wrapper turns ext.Extent into Extent, adds
// LookupIn by path and reports a journal left needing recovery.
type extFS struct {
	*ext.FS
}

// extSys is what the ext reader's FileInfo.Sys() offers.
type extSys interface {
	FileIdentity
	FileGenerationer
	LinkCounter
	POSIXAttributer
	AccessTimer
	ChangeTimer
	CreationTimer
	Xattrer
	DeviceNumberer
}

var (
	_ extSys         = (*ext.FileInfo)(nil)
	_ fs.ReadDirFS   = (*extFS)(nil)
	_ fs.StatFS      = (*extFS)(nil)
	_ fs.ReadLinkFS  = (*extFS)(nil)
	_ POSIXLinker    = (*extFS)(nil)
	_ DirLookuper    = (*extFS)(nil)
	_ InfoOpener     = (*extFS)(nil)
	_ Journaler      = (*extFS)(nil)
	_ ExtentMapper   = (*extFile)(nil)
	_ io.ReaderAt    = (*extFile)(nil)
	_ io.Seeker      = (*extFile)(nil)
	_ fs.ReadDirFile = (*extFile)(nil)
)

// openExt opens an ext2, ext3 or ext4 volume with our own reader.
func openExt(r io.ReaderAt, size int64, noRecovery bool) (fs.FS, string, error) {
	v, err := ext.NewFSOptions(r, size, ext.Options{NoRecovery: noRecovery})
	if err != nil {
		return nil, "", err
	}
	return &extFS{v}, v.Label(), nil
}

// Open opens a file or directory.
func (v *extFS) Open(name string) (fs.File, error) {
	f, err := v.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return &extFile{f.(*ext.File)}, nil
}

// OpenInfo opens the file fi describes by its inode.
func (v *extFS) OpenInfo(name string, fi fs.FileInfo) (fs.File, error) {
	f, err := v.FS.OpenInfo(name, fi)
	if err != nil {
		return v.Open(name)
	}
	return &extFile{f.(*ext.File)}, nil
}

// LookupIn starts from the directory's inode when dir came from this
// volume.
func (v *extFS) LookupIn(dirPath string, dir fs.FileInfo, name string) (fs.FileInfo, error) {
	if dir != nil {
		if _, ok := dir.Sys().(*ext.FileInfo); ok {
			return v.FS.LookupIn(dir, name)
		}
	}
	return v.FS.Lstat(path.Join(dirPath, name))
}

// JournalState reports what was done with a journal that needed
// recovery: replayed in memory, or why not.
func (v *extFS) JournalState() string {
	if j := v.FS.Journal(); j.NeedsRecovery {
		return j.String()
	}
	return ""
}

// extFile is an open *ext.File with its extents in the contract's form.
type extFile struct {
	*ext.File
}

// Extents converts ext.File.Extents: holes are absent, unwritten
// (preallocated) extents allocated zeros.
func (f *extFile) Extents() ([]Extent, bool, error) {
	exts, exact, err := f.File.Extents()
	return mapExtents(exts, exact, err, func(e ext.Extent) Extent {
		return readerExtent(e.FileOff, e.VolOff, e.Len, e.Sparse, e.Unwritten)
	})
}
