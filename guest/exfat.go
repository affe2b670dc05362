package guest

import (
	"fmt"
	"io"
	"io/fs"
	"path"

	"github.com/ckptfs/ckptfs/exfat"
)

// fsExFAT is the FSType of an exFAT volume.
const fsExFAT = "exfat"

// exfatFS adapts package exfat to the contract: the *exfat.FS is an
// fs.FS whose FileInfo.Sys() values have FileID, the times and the
// Windows attributes; the wrapper turns exfat.Extent into Extent, adds
// the path argument of LookupIn and LookupFoldIn, and opens by FileInfo.
type exfatFS struct {
	*exfat.FS
}

var (
	_ fs.ReadDirFS      = (*exfatFS)(nil)
	_ fs.StatFS         = (*exfatFS)(nil)
	_ DirLookuper       = (*exfatFS)(nil)
	_ FoldLookuper      = (*exfatFS)(nil)
	_ InfoOpener        = (*exfatFS)(nil)
	_ ExtentMapper      = (*exfatFile)(nil)
	_ io.ReaderAt       = (*exfatFile)(nil)
	_ io.Seeker         = (*exfatFile)(nil)
	_ fs.ReadDirFile    = (*exfatFile)(nil)
	_ FileIdentity      = (*exfat.FileInfo)(nil)
	_ CreationTimer     = (*exfat.FileInfo)(nil)
	_ AccessTimer       = (*exfat.FileInfo)(nil)
	_ WindowsAttributer = (*exfat.FileInfo)(nil)
)

// openExFAT opens an exFAT volume. What did not stop it from opening (a
// damaged main boot region read from its backup, entry sets left out)
// stays in the reader's Warnings.
func openExFAT(r io.ReaderAt, size int64) (fs.FS, string, error) {
	v, err := exfat.New(r, size)
	if err != nil {
		return nil, "", fmt.Errorf("exfat: %w", err)
	}
	return &exfatFS{v}, v.Label(), nil
}

// Open opens a file or directory.
func (v *exfatFS) Open(name string) (fs.File, error) {
	f, err := v.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return &exfatFile{f.(*exfat.File)}, nil
}

// OpenInfo opens the file fi describes without resolving its path again.
func (v *exfatFS) OpenInfo(name string, fi fs.FileInfo) (fs.File, error) {
	f, err := v.FS.OpenInfo(name, fi)
	if err != nil {
		return nil, err
	}
	return &exfatFile{f.(*exfat.File)}, nil
}

// LookupIn starts from the directory's entry when dir came from this
// volume.
func (v *exfatFS) LookupIn(dirPath string, dir fs.FileInfo, name string) (fs.FileInfo, error) {
	if dir != nil {
		if _, ok := dir.Sys().(*exfat.FileInfo); ok {
			return v.FS.LookupIn(dir, name)
		}
	}
	return v.FS.Stat(path.Join(dirPath, name))
}

// LookupFoldIn is LookupIn matching names as Windows does (through the
// volume's up-case table).
func (v *exfatFS) LookupFoldIn(dirPath string, dir fs.FileInfo, name string) (fs.FileInfo, error) {
	if dir != nil {
		if _, ok := dir.Sys().(*exfat.FileInfo); ok {
			return v.FS.LookupFoldIn(dir, name)
		}
	}
	p, err := v.FS.ResolveFold(path.Join(dirPath, name))
	if err != nil {
		return nil, err
	}
	return v.FS.Stat(p)
}

// serial formats the volume serial number as blkid gives an exFAT UUID.
func (v *exfatFS) serial() string {
	s := v.FS.Serial()
	return fmt.Sprintf("%04X-%04X", s>>16, s&0xffff)
}

// exfatFile is an open *exfat.File with its extents in the contract's
// form.
type exfatFile struct {
	*exfat.File
}

// Extents converts exfat.File.Extents: bytes past ValidDataLength are
// allocated zeros.
func (f *exfatFile) Extents() ([]Extent, bool, error) {
	exts, exact, err := f.File.Extents()
	return mapExtents(exts, exact, err, func(e exfat.Extent) Extent {
		return readerExtent(e.FileOff, e.VolOff, e.Len, false, e.Zero)
	})
}
