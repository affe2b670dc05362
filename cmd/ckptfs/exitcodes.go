package main

import (
	"errors"

	"github.com/ckptfs/ckptfs/internal/errclass"
)

// Exit codes, listed in the README. Scripts depend on them. They equal
// the values of errclass.Class (errclass_test checks).
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
	exitDiffers     = 9   // diff --exit-code: the two checkpoints differ
	exitInterrupted = 130 // stopped by SIGINT before finishing
)

// errRefused marks refusals that protect data (exit 8).
var errRefused = errors.New("refused")

// errDiffers is diff --exit-code's answer that the checkpoints differ: not
// a failure, so nothing is printed for it (exit 9, not 1, so that a script
// can tell it from an I/O error).
var errDiffers = errors.New("checkpoints differ")

// errUsage marks command line errors (exit 2).
var errUsage = errors.New("usage")

// exitCode maps an error to the exit code a script sees: the command
// line's own faults here, every package's sentinels through the one
// classifier the mount's errnos use too (internal/errclass).
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
	case errors.Is(err, errRefused):
		return exitRefused
	case errors.Is(err, errDiffers):
		return exitDiffers
	}
	return errclass.ExitCode(err)
}

func isProblems(err error) bool {
	var p errProblems
	return errors.As(err, &p)
}
