package main

import (
	"context"
	"io/fs"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/guest"
)

// treeBytes sums the sizes of the regular files under the guest paths to
// copy, for the progress line's total and time left. It runs only when
// the line is shown (stderr is a terminal): a walk of metadata, which the
// copy then finds in the readers' caches. A path that fails counts zero;
// the copy reports it.
func treeBytes(ctx context.Context, cp *catalog.Checkpoint, g *guest.Options, srcs []string) int64 {
	var total int64
	for _, s := range srcs {
		fsys, p, err := resolveGuestPath(cp, g, s)
		if err != nil {
			continue
		}
		_ = fs.WalkDir(fsys, p, func(_ string, d fs.DirEntry, err error) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			if fi, err := d.Info(); err == nil {
				total += fi.Size()
			}
			return nil
		})
	}
	return total
}
