package guest

import (
	"io"
	"io/fs"
	"path"

	"github.com/ckptfs/ckptfs/ntfs"
)

// ntfsFS adapts package ntfs to the contract. Everything but Open and
// OpenStream is the *ntfs.Volume's own: its FileInfo.Sys() is an
// *ntfs.FileRecordInfo, which has the contract's metadata methods, and its
// directory entries carry FileID. The wrapper only turns ntfs.Extent into
// Extent and gives OpenStream the fs.File signature.
type ntfsFS struct {
	*ntfs.Volume
	records *ntfsRecords // see ntfsrecords.go
}

var (
	_ fs.ReadDirFS   = (*ntfsFS)(nil)
	_ fs.StatFS      = (*ntfsFS)(nil)
	_ fs.ReadLinkFS  = (*ntfsFS)(nil)
	_ StreamFS       = (*ntfsFS)(nil)
	_ DirLookuper    = (*ntfsFS)(nil)
	_ InfoOpener     = (*ntfsFS)(nil)
	_ RecordFS       = (*ntfsFS)(nil)
	_ FoldLookuper   = (*ntfsFS)(nil)
	_ MetafileShower = (*ntfsFS)(nil)
	_ ExtentMapper   = (*ntfsFile)(nil)
	_ HoleMapper     = (*ntfsFile)(nil)
	_ io.ReaderAt    = (*ntfsFile)(nil)
	_ io.Seeker      = (*ntfsFile)(nil)
	_ fs.ReadDirFile = (*ntfsFile)(nil)

	_ FileIdentity      = (*ntfs.FileRecordInfo)(nil)
	_ FileGenerationer  = (*ntfs.FileRecordInfo)(nil)
	_ LinkCounter       = (*ntfs.FileRecordInfo)(nil)
	_ AccessTimer       = (*ntfs.FileRecordInfo)(nil)
	_ ChangeTimer       = (*ntfs.FileRecordInfo)(nil)
	_ CreationTimer     = (*ntfs.FileRecordInfo)(nil)
	_ WindowsAttributer = (*ntfs.FileRecordInfo)(nil)
	_ StreamLister      = (*ntfs.FileRecordInfo)(nil)
	_ POSIXAttributer   = (*ntfs.FileRecordInfo)(nil)
	_ DeviceNumberer    = (*ntfs.FileRecordInfo)(nil)
	_ Xattrer           = (*ntfs.FileRecordInfo)(nil)
)

// openNTFS opens an NTFS volume with package ntfs. A volume whose label
// cannot be read is still opened: the label is cosmetic.
func openNTFS(r io.ReaderAt, size int64) (fs.FS, string, error) {
	v, err := ntfs.NewVolume(r, size)
	if err != nil {
		return nil, "", err
	}
	label, _ := v.Label()
	return newNTFSFS(v), label, nil
}

func newNTFSFS(v *ntfs.Volume) *ntfsFS {
	return &ntfsFS{Volume: v, records: newNTFSRecords(v)}
}

// NTFSVolume returns the *ntfs.Volume behind a volume's FS, for tests and
// tools that want package ntfs's own API; ok is false for any other
// filesystem.
func NTFSVolume(fsys fs.FS) (v *ntfs.Volume, ok bool) {
	if n, ok := fsys.(*ntfsFS); ok {
		return n.Volume, true
	}
	return nil, false
}

// Open opens a file or directory.
func (v *ntfsFS) Open(name string) (fs.File, error) {
	f, err := v.Volume.OpenFile(name)
	if err != nil {
		return nil, err
	}
	return &ntfsFile{f}, nil
}

// OpenStream opens a named data stream of the file at name.
func (v *ntfsFS) OpenStream(name, stream string) (fs.File, error) {
	f, err := v.Volume.OpenStream(name, stream)
	if err != nil {
		return nil, err
	}
	return &ntfsFile{f}, nil
}

// OpenInfo opens the file by its MFT record when fi came from this
// volume.
func (v *ntfsFS) OpenInfo(name string, fi fs.FileInfo) (fs.File, error) {
	r, ok := fi.Sys().(*ntfs.FileRecordInfo)
	if !ok || r == nil || r.Dir {
		return v.Open(name)
	}
	f, err := v.Volume.OpenRecord(r.Ref.Record, "")
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &ntfsFile{f}, nil
}

// LookupIn starts from the directory's MFT reference when dir came from
// this volume.
func (v *ntfsFS) LookupIn(dirPath string, dir fs.FileInfo, name string) (fs.FileInfo, error) {
	if dir != nil {
		if r, ok := dir.Sys().(*ntfs.FileRecordInfo); ok && r != nil {
			return v.Volume.LookupIn(r.Ref, name)
		}
	}
	return v.Volume.Lstat(path.Join(dirPath, name))
}

// LookupFoldIn is LookupIn matching names as Windows does.
func (v *ntfsFS) LookupFoldIn(dirPath string, dir fs.FileInfo, name string) (fs.FileInfo, error) {
	if dir != nil {
		if r, ok := dir.Sys().(*ntfs.FileRecordInfo); ok && r != nil {
			return v.Volume.LookupFoldIn(r.Ref, name)
		}
	}
	p, err := v.Volume.ResolveFold(path.Join(dirPath, name))
	if err != nil {
		return nil, err
	}
	return v.Volume.Lstat(p)
}

// ntfsFile is an open *ntfs.File with its extents in the contract's form.
type ntfsFile struct {
	*ntfs.File
}

// Extents converts ntfs.File.Extents.
func (f *ntfsFile) Extents() ([]Extent, bool, error) {
	exts, exact, err := f.File.Extents()
	return fromNTFSExtents(exts), exact, err
}

// HolesExact reports whether the sparse runs are holes of the content:
// they are unless the stream is compressed. (A WOF-compressed file has no
// extents at all: its content is in another stream.)
func (f *ntfsFile) HolesExact() bool { return f.File.CompressionUnit() == 0 }

func fromNTFSExtents(exts []ntfs.Extent) []Extent {
	if exts == nil {
		return nil
	}
	out := make([]Extent, len(exts))
	for i, e := range exts {
		out[i] = Extent{FileOff: e.FileOff, VolOff: e.VolOff, Len: e.Len}
		if e.Sparse {
			out[i].Kind, out[i].VolOff = ExtentAbsent, -1
		}
	}
	return out
}
