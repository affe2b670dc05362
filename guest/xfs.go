package guest

import (
	"io"
	"io/fs"
	"path"

	"github.com/ckptfs/ckptfs/xfs"
)

// xfsFS adapts package xfs to the contract: the *xfs.FS is an fs.FS with
// ReadLink and Lstat, its FileInfo.Sys() values have the contract's
// metadata methods; the wrapper turns xfs.Extent into Extent and adds
// LookupIn by path.
type xfsFS struct {
	*xfs.FS
}

// xfsSys is what the xfs reader's FileInfo.Sys() offers.
type xfsSys interface {
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
	_ fs.ReadDirFS   = (*xfsFS)(nil)
	_ fs.StatFS      = (*xfsFS)(nil)
	_ fs.ReadLinkFS  = (*xfsFS)(nil)
	_ POSIXLinker    = (*xfsFS)(nil)
	_ DirLookuper    = (*xfsFS)(nil)
	_ Journaler      = (*xfsFS)(nil)
	_ ExtentMapper   = (*xfsFile)(nil)
	_ io.ReaderAt    = (*xfsFile)(nil)
	_ io.Seeker      = (*xfsFile)(nil)
	_ fs.ReadDirFile = (*xfsFile)(nil)
)

// openXFS opens an XFS volume, replaying a dirty log in memory.
func openXFS(r io.ReaderAt, size int64, noRecovery bool) (fs.FS, string, error) {
	v, err := xfs.NewFSOptions(r, size, xfs.Options{NoRecovery: noRecovery})
	if err != nil {
		return nil, "", err
	}
	if fi, err := v.Stat("."); err == nil {
		if _, ok := fi.Sys().(xfsSys); !ok {
			return nil, "", formatErr(0, "xfs: file metadata lacks the contract's methods")
		}
	}
	return &xfsFS{v}, v.Label(), nil
}

// Open opens a file or directory.
func (v *xfsFS) Open(name string) (fs.File, error) {
	f, err := v.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return &xfsFile{f.(*xfs.File)}, nil
}

// LookupIn starts from the directory's inode when dir came from this
// volume.
func (v *xfsFS) LookupIn(dirPath string, dir fs.FileInfo, name string) (fs.FileInfo, error) {
	if dir != nil {
		if fi, err := v.FS.LookupIn(dir, name); err == nil {
			return fi, nil
		}
	}
	return v.FS.Lstat(path.Join(dirPath, name))
}

// JournalState says how the log was treated (see xfs.LogState).
func (v *xfsFS) JournalState() string {
	if ls := v.FS.LogState(); ls.Dirty || ls.Note != "" {
		return ls.String()
	}
	return ""
}

// xfsFile is an open *xfs.File with its extents in the contract's form.
type xfsFile struct {
	*xfs.File
}

// Extents converts xfs.File.Extents: holes are absent, unwritten
// (preallocated) extents allocated zeros.
func (f *xfsFile) Extents() ([]Extent, bool, error) {
	exts, exact, err := f.File.Extents()
	return mapExtents(exts, exact, err, func(e xfs.Extent) Extent {
		return readerExtent(e.FileOff, e.VolOff, e.Len, e.Sparse, e.Unwritten)
	})
}
