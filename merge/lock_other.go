//go:build !unix

package merge

import (
	"fmt"
	"os"
)

func lockExclusive(files []string) (func(), error) {
	return nil, fmt.Errorf("%w: file locking is only implemented on Unix", ErrRefused)
}

func crash() { os.Exit(137) }
