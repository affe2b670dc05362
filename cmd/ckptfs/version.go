package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
)

// printVersion prints what `ckptfs --version` shows: the module version
// (or the VCS revision of a development build), the Go toolchain, and
// whether this machine can mount.
func printVersion(w io.Writer) {
	version, revision := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		var rev, when, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = ", modified"
				}
			}
		}
		if rev != "" {
			revision = fmt.Sprintf(" (commit %.12s %s%s)", rev, when, dirty)
		}
	}
	fmt.Fprintf(w, "ckptfs %s%s\n", version, revision)
	fmt.Fprintf(w, "built with %s for %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "FUSE: %s\n", fuseState())
}

// fuseState says whether `ckptfs mount` can work here.
func fuseState() string {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return "not available (/dev/fuse is missing; ls, cat, cp, diff, export, merge and serve still work)"
	}
	if _, err := exec.LookPath("fusermount3"); err != nil && os.Geteuid() != 0 {
		return "/dev/fuse present, fusermount3 missing (install fuse3 to mount as a user)"
	}
	return "available"
}
