package mount

import (
	"errors"
	"fmt"

	"github.com/ckptfs/ckptfs/catalog"
)

// LockCatalog takes the shared locks of a server of cat (mount, serve) on
// the very files the catalog reads, through its source: a file replaced
// under the same name since the catalog opened it cannot slip through.
// A merge holding one fails it with ErrLocked.
func LockCatalog(cat *catalog.Catalog) (release func(), err error) {
	release, err = cat.LockShared()
	if errors.Is(err, catalog.ErrLocked) {
		err = fmt.Errorf("%w: %w", ErrLocked, err)
	}
	return release, err
}
