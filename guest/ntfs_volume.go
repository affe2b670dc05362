package guest

import (
	"io"
	"io/fs"

	"github.com/ckptfs/ckptfs/ntfs"
)

// openNTFS opens an NTFS volume with package ntfs. A volume whose label
// cannot be read is still opened: the label is cosmetic.
func openNTFS(r io.ReaderAt, size int64) (fs.FS, string, error) {
	v, err := ntfs.NewVolume(r, size)
	if err != nil {
		return nil, "", err
	}
	label, _ := v.Label()
	return v, label, nil
}
