package main

import (
	"errors"
	"io/fs"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/mount"
	"github.com/ckptfs/ckptfs/ntfs"
	"github.com/ckptfs/ckptfs/vhdx"
)

// Exit codes, listed in the README. Scripts depend on them.
const (
	exitOK          = 0   // success; for check: everything verified clean
	exitFailure     = 1   // any other failure (I/O error, unexpected fault)
	exitUsage       = 2   // bad command line
	exitProblems    = 3   // check found problems (they are listed)
	exitBadImage    = 4   // a disk or filesystem is damaged or not of the expected format
	exitChain       = 5   // a differencing chain cannot be resolved (parent missing, mismatched, loop)
	exitNotFound    = 6   // checkpoint, volume or guest path not found
	exitUnsupported = 7   // a valid feature ckptfs does not implement
	exitRefused     = 8   // refused to act: would damage data, files locked, target exists
	exitInterrupted = 130 // stopped by SIGINT before finishing
)

// errRefused marks refusals that protect data (exit 8).
var errRefused = errors.New("refused")

// errUsage marks command line errors (exit 2).
var errUsage = errors.New("usage")

// exitCode maps an error to the exit code a script sees.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case isProblems(err):
		return exitProblems
	case errors.Is(err, errUsage):
		return exitUsage
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case errors.Is(err, errRefused), errors.Is(err, mount.ErrInsideSource), errors.Is(err, mount.ErrLocked), errors.Is(err, fs.ErrExist):
		return exitRefused
	case errors.Is(err, vhdx.ErrParent):
		return exitChain
	case errors.Is(err, vhdx.ErrUnsupported), errors.Is(err, ntfs.ErrUnsupported):
		return exitUnsupported
	case errors.Is(err, vhdx.ErrFormat), errors.Is(err, vhdx.ErrChecksum), errors.Is(err, vhdx.ErrLog),
		errors.Is(err, ntfs.ErrFormat), errors.Is(err, catalog.ErrConfig):
		return exitBadImage
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, catalog.ErrNotFound), errors.Is(err, catalog.ErrNoDisks):
		return exitNotFound
	}
	return exitFailure
}

func isProblems(err error) bool {
	var p errProblems
	return errors.As(err, &p)
}
