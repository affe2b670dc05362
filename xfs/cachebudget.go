package xfs

import (
	"unsafe"

	"github.com/ckptfs/ckptfs/internal/gencache"
	"github.com/ckptfs/ckptfs/internal/membudget"
)

// cacheBudget is the budget the caches count their bytes in: the
// process-wide one (internal/membudget), which a walk across many
// checkpoints' volumes would otherwise pass by adding up their bounds.
var cacheBudget = membudget.Default

// openCaches makes v's caches and opens their accounts.
func (v *FS) openCaches() {
	v.inodes = gencache.New[uint64, *inode](inodeCacheSize/2, func(*inode) int { return 1 }).
		Budget(cacheBudget, "xfs inodes", inodeBytes)
	v.clusters = gencache.New[int64, []byte](clusterCacheSize/2, func([]byte) int { return 1 }).
		Budget(cacheBudget, "xfs inode clusters", func(b []byte) int64 { return int64(cap(b)) })
	v.dirs = gencache.New[uint64, []dirent](dirCacheEntries, func(e []dirent) int { return len(e) + 1 }).
		Budget(cacheBudget, "xfs listings", direntBytes)
}

// inodeBytes is what a decoded inode holds: itself and its forks' copy.
func inodeBytes(in *inode) int64 {
	return int64(unsafe.Sizeof(inode{})) + int64(cap(in.dfork))
}

// direntBytes is what a cached listing holds.
func direntBytes(ents []dirent) int64 {
	b := int64(cap(ents)) * int64(unsafe.Sizeof(dirent{}))
	for _, e := range ents {
		b += int64(len(e.name))
	}
	return b
}
