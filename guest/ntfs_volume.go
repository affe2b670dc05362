package guest

import (
	"fmt"
	"io"
	"io/fs"
)

// openNTFS opens an NTFS volume. It is kept alone in this file so that
// wiring in package ntfs is a one-line change:
//
//	v, err := ntfs.NewVolume(r, size); if err != nil { return nil, "", err }; return v, v.Label(), nil
//
// Until package ntfs provides NewVolume, NTFS volumes are listed with
// ErrUnsupported.
func openNTFS(r io.ReaderAt, size int64) (fs.FS, string, error) {
	_ = r
	return nil, "", fmt.Errorf("ntfs reader not available yet (%d bytes): %w", size, ErrUnsupported)
}
