// Package xfs reads XFS filesystems (superblock versions 4 and 5) from an
// io.ReaderAt, read-only, and presents them as an io/fs.FS with the
// metadata Linux shows: modes, owners, nanosecond times, link counts,
// inode numbers, symbolic links and extended attributes.
//
// The volume is never written. A log left dirty by a crash is replayed in
// memory when it can be (see LogState); otherwise the files read as the
// last checkpointed state, as `mount -o norecovery` shows them, and
// LogState says so. The realtime section and external logs are not read:
// realtime files fail with ErrUnsupported.
//
// Every count, offset and tree level read from the volume is checked
// before use, trees are walked with depth limits and each call has a
// budget of metadata bytes, so hostile images give errors, not panics or
// runaway reads.
package xfs

import (
	"errors"
	"fmt"
	"io"

	"github.com/ckptfs/ckptfs/internal/gencache"
	"github.com/ckptfs/ckptfs/internal/srcfile"
)

// Limits against hostile volumes.
const (
	// maxCallBytes bounds the metadata one call (a lookup, a directory
	// listing, an open) may read; a million-entry directory needs ~40 MiB.
	maxCallBytes = 256 << 20
	// maxExtents bounds the extents of one fork held in memory.
	maxExtents = 1 << 20
	// maxBtreeLevels is beyond any real bmap or da B+tree height.
	maxBtreeLevels = 10
	// maxLinkHops bounds symbolic links followed in one lookup, as Linux.
	maxLinkHops = 40
	// maxDirEntries bounds one directory's listing.
	maxDirEntries = 1 << 23
	// inodeCacheSize is how many decoded inodes stay cached (two
	// generations of half).
	inodeCacheSize = 4096
	// dirCacheEntries bounds the entries of the listings cached per
	// generation: a folder of 100,000 names beside the folders around it
	// (a listing larger is kept alone), some 50 bytes an entry.
	dirCacheEntries = 1 << 18
	// clusterSize is how much is read around an inode (the kernel's
	// inode cluster size), and clusterCacheSize how many stay cached.
	clusterSize      = 8 << 10
	clusterCacheSize = 1024
)

// FS is an open XFS volume. It is safe for concurrent use.
type FS struct {
	r    io.ReaderAt
	size int64
	sb   *superblock
	end  int64 // bytes of the data section: no metadata lies beyond
	log  LogState
	// overlay holds metadata blocks as the log replay left them; reads
	// of metadata see them in place of the volume's bytes.
	overlay *overlay

	// The caches, two generations each (internal/gencache), their bytes
	// counted in the process-wide memory budget (cachebudget.go).
	inodes *gencache.Cache[uint64, *inode]
	// clusters caches raw inode clusters: inodes are allocated in chunks
	// and a directory's files mostly share a few, so one read serves
	// many lookups.
	clusters *gencache.Cache[int64, []byte]
	dirs     *gencache.Cache[uint64, []dirent]
	closer   io.Closer
}

// budget is what one call may still read of metadata, so a hostile image
// cannot make a call walk the volume many times over.
type budget struct{ left int64 }

func newBudget() *budget { return &budget{left: maxCallBytes} }

func (b *budget) charge(n int64, off int64) error {
	b.left -= n
	if b.left < 0 {
		return kindErr(ErrRange, off, "call read more than %d bytes of metadata", int64(maxCallBytes))
	}
	return nil
}

// Options change how a volume is opened.
type Options struct {
	// NoRecovery leaves a dirty log unreplayed, as `mount -o norecovery`:
	// the files read as they were at the last write-back.
	NoRecovery bool
}

// NewFS opens the XFS filesystem in r, of size bytes. The log is looked at
// and, when dirty, replayed in memory (see LogState).
func NewFS(r io.ReaderAt, size int64) (*FS, error) {
	return NewFSOptions(r, size, Options{})
}

// NewFSOptions is NewFS with options.
func NewFSOptions(r io.ReaderAt, size int64, opt Options) (*FS, error) {
	head := make([]byte, 64<<10)
	n, err := r.ReadAt(head[:min(int64(len(head)), max(size, 0))], 0)
	if n < sbSize {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("xfs: reading the superblock: %w", err)
	}
	sb, err := parseSuper(head[:n])
	if err != nil {
		return nil, err
	}
	end := int64(sb.dblocks) << sb.blockLog
	if end > size {
		return nil, kindErr(ErrRange, 8, "filesystem of %d bytes in a volume of %d", end, size)
	}
	v := &FS{r: r, size: size, sb: sb, end: end}
	v.openCaches()
	v.log = v.recoverLog(opt.NoRecovery)
	if _, err := v.inode(newBudget(), sb.rootIno); err != nil {
		return nil, fmt.Errorf("xfs: root inode: %w", err)
	}
	return v, nil
}

// Open opens the XFS filesystem in the named file (an image or a block
// device), read-only. Close releases the file.
func Open(name string) (*FS, error) {
	f, _, size, err := srcfile.Open(name)
	if err != nil {
		if errors.Is(err, srcfile.ErrNotFile) {
			err = fmt.Errorf("%w: %w", ErrFormat, err)
		}
		return nil, err
	}
	v, err := NewFS(f, size)
	if err != nil {
		f.Close()
		return nil, err
	}
	v.closer = f
	return v, nil
}

// Close closes the file Open opened; for NewFS it does nothing.
func (v *FS) Close() error {
	if v.closer != nil {
		return v.closer.Close()
	}
	return nil
}

// Label is the filesystem label (at most 12 bytes).
func (v *FS) Label() string { return v.sb.label }

// UUID is the filesystem UUID.
func (v *FS) UUID() [16]byte { return v.sb.uuid }

// BlockSize is the filesystem block size in bytes.
func (v *FS) BlockSize() int { return int(v.sb.blockSize) }

// Version is the superblock version: 4 or 5 (metadata checksums).
func (v *FS) Version() int { return v.sb.version }

// Size is the size of the data section in bytes.
func (v *FS) Size() int64 { return v.end }

// POSIXLinks reports that link targets are POSIX paths.
func (v *FS) POSIXLinks() bool { return true }

// meta reads n bytes of metadata at off, charging the budget, with the
// log replay's blocks in place.
func (v *FS) meta(b *budget, off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off > v.end || int64(n) > v.end-off {
		return nil, kindErr(ErrRange, off, "%d bytes of metadata beyond the filesystem end 0x%x", n, v.end)
	}
	if err := b.charge(int64(n), off); err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	if err := v.readRaw(buf, off); err != nil {
		return nil, err
	}
	return buf, nil
}

// readRaw fills p from the volume at off, with replayed blocks on top.
func (v *FS) readRaw(p []byte, off int64) error {
	if _, err := v.r.ReadAt(p, off); err != nil && err != io.EOF {
		return fmt.Errorf("xfs: reading %d bytes at 0x%x: %w", len(p), off, err)
	}
	if v.overlay != nil {
		v.overlay.apply(p, off)
	}
	return nil
}

// inode reads and decodes an inode, through a small cache.
func (v *FS) inode(b *budget, ino uint64) (*inode, error) {
	if in, ok := v.inodes.Get(ino); ok {
		return in, nil
	}
	off, err := v.sb.inodeOffset(ino)
	if err != nil {
		return nil, kindErr(ErrRange, -1, "%v", err)
	}
	buf, err := v.inodeBytes(b, off)
	if err != nil {
		return nil, err
	}
	in, err := v.parseInode(ino, off, buf)
	if err != nil {
		return nil, err
	}
	v.inodes.Put(ino, in)
	return in, nil
}

// inodeBytes returns the inode at off, read with the rest of its cluster
// (at most one filesystem block, aligned) through a cache.
func (v *FS) inodeBytes(b *budget, off int64) ([]byte, error) {
	n := int64(min(clusterSize, v.sb.blockSize))
	n = max(n, int64(v.sb.inodeSize))
	start := off &^ (n - 1)
	c, ok := v.clusters.Get(start)
	if !ok {
		var err error
		if c, err = v.meta(b, start, int(n)); err != nil {
			return nil, err
		}
		v.clusters.Put(start, c)
	}
	return c[off-start : off-start+int64(v.sb.inodeSize)], nil
}
