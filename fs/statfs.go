//go:build linux

package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ckptfs/ckptfs/vhdx"
)

var _ = (gofs.NodeStatfser)((*Root)(nil))

// Statfs makes df show the source's disk files: their total size as the
// size and as used, nothing free (the tree is read-only).
func (r *Root) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	seen := map[*vhdx.Disk]bool{}
	var bytes int64
	files := uint64(0)
	for _, vm := range r.cat.VMs {
		for _, c := range vm.Checkpoints {
			files++
			for _, d := range c.Disks {
				if d.Chain == nil {
					continue
				}
				for _, l := range d.Chain.Layers {
					if !seen[l] {
						seen[l] = true
						bytes += l.FileSize
					}
				}
			}
		}
	}
	const bsize = 4096
	out.Bsize = bsize
	out.Frsize = bsize
	out.Blocks = uint64(bytes+bsize-1) / bsize
	out.Files = files
	out.NameLen = 255
	return 0
}
