package guest

import (
	"io/fs"

	"github.com/ckptfs/ckptfs/internal/lrucache"
	"github.com/ckptfs/ckptfs/internal/membudget"
)

// dirCache keeps the most recently used directory listings of a volume.
// The volume never changes under us, and go-diskfs finds a directory by
// walking its path from the root, so without the cache every Stat listed
// each ancestor again: a walk of a tree cost the square of its depth times the size
// of the directories above. Bounded by the entries held, not listings (an
// empty directory still costs one), and counted in the process-wide memory
// budget (internal/membudget) at dirEntryBytes an entry: go-diskfs's
// entries are not ours to measure.
type dirCache = lrucache.Cache[string, []fs.DirEntry]

// dirEntryBytes is what a cached go-diskfs entry is taken to cost.
const dirEntryBytes = 200

// dirCacheEntries bounds a volume's cache: some 200 bytes an entry, so
// about 25 MiB, and more than any one directory a listing may hold.
const dirCacheEntries = 1 << 17

func newDirCache(entries int) *dirCache {
	return lrucache.New[string, []fs.DirEntry](entries, func(ents []fs.DirEntry) int { return len(ents) }).
		Budget(membudget.Default, "guest listings (FAT, ISO)",
			func(ents []fs.DirEntry) int64 { return int64(max(len(ents), 1)) * dirEntryBytes })
}
