package guest

import (
	"fmt"
	"io"
	"io/fs"

	"github.com/ckptfs/ckptfs/regf"
)

// The Windows registry hives guest reads (drives.go, osinfo.go), found on
// a Windows system volume in whatever case the installation wrote them.

// systemHivePath is where Windows keeps its SYSTEM registry hive, whose
// MountedDevices key maps drive letters to volumes.
const systemHivePath = "Windows/System32/config/SYSTEM"

// openHive opens a registry hive file of a Windows volume.
func openHive(fsys fs.FS, p string) (*regf.Hive, func(), error) {
	f, err := fsys.Open(p)
	if err != nil {
		if f, err = openFolded(fsys, p); err != nil {
			return nil, nil, err
		}
	}
	st, err := f.Stat()
	ra, isRA := f.(io.ReaderAt)
	if err != nil || !isRA || !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s: not a readable file", p)
	}
	h, err := regf.NewHive(ra, st.Size())
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return h, func() { f.Close() }, nil
}

// openFolded opens p on a filesystem that matches names as Windows does,
// in whatever case the installation wrote it.
func openFolded(fsys fs.FS, p string) (fs.File, error) {
	fl, ok := fsys.(FoldLookuper)
	if !ok {
		return nil, fs.ErrNotExist
	}
	real, err := fl.ResolveFold(p)
	if err != nil {
		return nil, err
	}
	return fsys.Open(real)
}
