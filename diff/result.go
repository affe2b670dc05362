package diff

import (
	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/guest"
)

// Result is the difference between two checkpoints, in the shape of
// `ckptfs diff --json`.
type Result struct {
	From   string       `json:"from"`
	To     string       `json:"to"`
	Ranges []Range      `json:"ranges"`
	Files  []FileChange `json:"files"`
	// Notes says how each part was compared when it was not the
	// incremental path (a full walk of a FAT volume, ...) and what could
	// not be compared.
	Notes []string `json:"notes,omitempty"`
}

// Range is a run of bytes of one virtual disk whose content differs.
type Range struct {
	Disk   string `json:"disk"`   // the disk's name in the mount (catalog.Disk.Name)
	Offset int64  `json:"offset"` // byte offset on the virtual disk
	Length int64  `json:"length"` // bytes
	// Layer is the file name of the layer that wrote the range: the
	// newer state's own layer when it holds the range, else the older
	// state's layer whose write the newer state does not see.
	Layer string `json:"layer"`
}

// End returns Offset+Length.
func (r Range) End() int64 { return r.Offset + r.Length }

// Change is the kind of a file change.
type Change string

// File change kinds.
const (
	Added    Change = "added"
	Removed  Change = "removed"
	Modified Change = "modified"
	Renamed  Change = "renamed" // same file (NTFS: MFT record and sequence) under another path
)

// What names one property of a file that changed.
const (
	WhatContent    = "content"    // the bytes of the unnamed data stream
	WhatSize       = "size"       // its length
	WhatMtime      = "mtime"      // last data change time
	WhatCtime      = "ctime"      // NTFS: last MFT change time
	WhatAtime      = "atime"      // last access time
	WhatBtime      = "btime"      // creation time
	WhatAttributes = "attributes" // Windows attribute flags
	WhatStreams    = "streams"    // named data streams: added, removed, resized or rewritten
	WhatLinks      = "links"      // hard links added or removed
	WhatTarget     = "target"     // symlink or junction target
	WhatType       = "type"       // file became directory, symlink, ...
	WhatMode       = "mode"       // permission bits (filesystems other than NTFS)
)

// FileChange is one changed file or directory.
type FileChange struct {
	Path   string `json:"path"` // "VOL/path/in/volume"
	Change Change `json:"change"`
	From   string `json:"from,omitempty"` // the old path, for Renamed only
	// What lists the properties that changed (for Modified and Renamed),
	// in the order of the What constants.
	What []string `json:"what,omitempty"`
	// SizeBefore and SizeAfter are the file's sizes in the older and the
	// newer state (directories: 0); nil where the file is not in that
	// state (Added has no SizeBefore, Removed no SizeAfter).
	SizeBefore *int64 `json:"size_before,omitempty"`
	SizeAfter  *int64 `json:"size_after,omitempty"`
}

// sizes fills SizeBefore/SizeAfter by the kind of change.
func (f FileChange) sizes(before, after int64) FileChange {
	if f.Change != Added {
		f.SizeBefore = &before
	}
	if f.Change != Removed {
		f.SizeAfter = &after
	}
	return f
}

// Options says what Compare computes.
type Options struct {
	// Ranges fills Result.Ranges; Files fills Result.Files. Both false
	// means both.
	Ranges, Files bool
	// Thorough also compares, on an NTFS, ext or XFS volume compared
	// incrementally, every file that has a data extent (any data stream,
	// non-resident) in the changed ranges of either state, so that data
	// written below the file system (raw sector writes into a file's
	// clusters, its MFT record or inode untouched) shows as a content
	// change. Finding those files reads every MFT record or inode of both
	// states: the cost follows the number of files, not the size of the
	// disk. Records that scan cannot read are named in Result.Notes.
	// Other filesystems are compared by a full walk, which reads all
	// content anyway.
	Thorough bool
	// Progress, when set, is called now and then with the bytes compared
	// so far and the bytes that will be compared in all (the candidate
	// ranges); it must be quick.
	Progress func(done, total int64)
	// Guest carries the keys guest volumes are opened with (BitLocker);
	// nil opens what needs no key.
	Guest *guest.Options
}

// checkpointName is what Result.From and To say about a checkpoint.
func checkpointName(c *catalog.Checkpoint) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}
