//go:build !linux

package mount

import (
	"context"
	"errors"

	"github.com/ckptfs/ckptfs/catalog"
)

// Run is only available on Linux.
func Run(ctx context.Context, cat *catalog.Catalog, mountpoint string, opt Options) error {
	return errors.ErrUnsupported
}

// LockShared is only available on Linux.
func LockShared(files []string) (release func(), err error) {
	return nil, errors.ErrUnsupported
}

// SetReadAhead is only available on Linux.
func SetReadAhead(mountpoint string, kb int) error {
	return errors.ErrUnsupported
}
