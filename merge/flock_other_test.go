//go:build !linux

package merge

import (
	"errors"
	"os"
)

// lockShared is only needed on Linux, where the merge tests run.
func lockShared(*os.File) error { return errors.ErrUnsupported }
