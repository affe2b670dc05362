// Package guest finds the partitions of a virtual disk and the filesystems
// inside them, and exposes each readable one as an io/fs.FS.
package guest

import (
	"io"
	"io/fs"
)

// Volume is one partition (or a whole unpartitioned disk) and what it holds.
type Volume struct {
	// Name is the directory name in the mount: "<disk>-p<N>" with N the
	// 1-based partition number as in the table, or "<disk>-vol" for a disk
	// without a partition table.
	Name     string
	Number   int    // partition number, 0 for a whole-disk volume
	Start    int64  // byte offset on the disk
	Size     int64  // bytes
	Table    string // "gpt", "mbr" or "none"
	PartType string // GPT type GUID or MBR type byte, as text
	PartName string // GPT partition name, if any
	FSType   string // "ntfs", "fat12", "fat16", "fat32", "ext4", "iso9660", or "unknown"
	Label    string // filesystem label when known
	// FS reads the volume's files; nil when the filesystem is unknown or
	// could not be opened (Err says why).
	FS  fs.FS
	Err error
	// Reader is the partition window over the disk.
	Reader io.ReaderAt
}

// Volumes reads the partition table of a disk image and opens every
// filesystem it recognises. diskName prefixes the volume names.
// Unknown or damaged filesystems are listed with Err set, not returned as
// errors; an error is returned only when the disk cannot be read at all.
func Volumes(disk io.ReaderAt, size int64, diskName string) ([]*Volume, error) {
	return nil, nil
}
