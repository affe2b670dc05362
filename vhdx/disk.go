package vhdx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ckptfs/ckptfs/internal/srcfile"
)

// Format says which container a disk file uses.
type Format uint8

// Container formats.
const (
	FormatVHDX Format = iota + 1
	FormatVHD
)

func (f Format) String() string {
	switch f {
	case FormatVHDX:
		return "vhdx"
	case FormatVHD:
		return "vhd"
	}
	return "unknown"
}

// DiskType is how a disk stores its payload.
type DiskType uint8

// Disk types.
const (
	TypeFixed DiskType = iota + 1
	TypeDynamic
	TypeDifferencing
)

func (t DiskType) String() string {
	switch t {
	case TypeFixed:
		return "fixed"
	case TypeDynamic:
		return "dynamic"
	case TypeDifferencing:
		return "differencing"
	}
	return "unknown"
}

// BlockState is what one file says about one payload block, already
// translated from the format's own states to their meaning.
type BlockState uint8

// Block states.
const (
	// BlockAbsent: this file holds nothing for the block; a differencing
	// disk defers to its parent, any other disk reads zeros.
	BlockAbsent BlockState = iota
	// BlockZero: the block reads as zeros and hides any parent.
	BlockZero
	// BlockPresent: every sector of the block is in this file.
	BlockPresent
	// BlockPartial: the sector bitmap says, per sector, whether this file
	// holds it (bit set) or the parent does (bit clear; zeros without parent).
	BlockPartial
	// BlockInvalid: the file's entry for the block is damaged (state not
	// allowed, data past the end of the file); reading it is an error.
	BlockInvalid
)

func (s BlockState) String() string {
	return [...]string{"absent", "zero", "present", "partial", "invalid"}[s]
}

// blockMap is the per-format part of a Disk: where its payload blocks are.
type blockMap interface {
	// block returns the state of payload block i (0 <= i < Disk.Blocks())
	// and, for present and partial blocks, the byte offset of the block's
	// first sector in the file.
	block(i int64) (BlockState, int64)
	// blockError explains why block i is BlockInvalid.
	blockError(i int64) error
	// sectorBitmap fills dst with block i's sector bitmap, one bit per
	// logical sector, bit 0 of dst[0] being the block's first sector
	// (LSB first, whatever the format stores). len(dst) is
	// BlockSize/LogicalSectorSize/8 rounded up. Only called for partial blocks.
	sectorBitmap(i int64, dst []byte) error
}

// ParentLocator is what a differencing disk says about its parent.
type ParentLocator struct {
	// Linkage identifies the parent: VHDX parent_linkage (the parent's
	// DataWriteGUID), VHD parent unique id.
	Linkage GUID
	// Linkage2 is VHDX parent_linkage2 when present (zero otherwise).
	Linkage2 GUID
	// ParentTimestamp is the VHD parent's modification time (zero for VHDX).
	ParentTimestamp time.Time
	// Paths lists the locator entries in the order they should be tried:
	// relative first, then absolute/volume paths. Windows separators kept.
	RelativePath string
	AbsolutePath string            // absolute_win32_path or VHD W2ku
	VolumePath   string            // VHDX volume_path
	ParentName   string            // VHD header's parent unicode name
	Entries      map[string]string // every raw key/value (VHDX) for info
}

// Disk is one opened VHDX or VHD file. Its methods are safe for concurrent use.
type Disk struct {
	Name               string // file name as opened, or "" for NewDisk
	Format             Format
	Type               DiskType
	FileSize           int64 // bytes in the file
	VirtualSize        int64 // bytes of the virtual disk
	BlockSize          int64 // payload block size
	LogicalSectorSize  int64
	PhysicalSectorSize int64
	// DiskID is VHDX VirtualDiskId or VHD UniqueId.
	DiskID GUID
	// DataWriteGUID is what a child's linkage must name: VHDX DataWriteGuid,
	// VHD UniqueId.
	DataWriteGUID GUID
	// FileWriteGUID is VHDX FileWriteGuid (zero for VHD).
	FileWriteGUID GUID
	Parent        *ParentLocator // nil unless Type == TypeDifferencing
	// Created is the VHD footer time stamp (zero for VHDX, which has none).
	Created time.Time
	// Header tells which redundant copy was used, e.g. "header 2 (seq 7)".
	Header string
	// LogReplayed is true when a dirty VHDX log was replayed in memory.
	LogReplayed bool
	// LogEntries counts the log entries replayed.
	LogEntries int
	// Warnings lists tolerated oddities (a damaged redundant copy, ...).
	Warnings []string

	r      io.ReaderAt // the file as seen after log replay
	blocks blockMap
	closer io.Closer
	file   *os.File    // set by OpenDisk, for read-ahead hints and views
	hint   prefetcher  // a file that fetches ahead itself (a remote object)
	fmap   fileMap     // the file mapped for views, made on first use
	vhdx   *vhdxLayout // nil for VHD
}

// Blocks returns the number of payload blocks.
func (d *Disk) Blocks() int64 {
	return (d.VirtualSize + d.BlockSize - 1) / d.BlockSize
}

// BlockInfo returns the state of payload block i and its file offset.
func (d *Disk) BlockInfo(i int64) (BlockState, int64) {
	if i < 0 || i >= d.Blocks() {
		return BlockAbsent, 0
	}
	return d.blocks.block(i)
}

// SectorBitmap returns block i's sector bitmap (LSB first, one bit per
// logical sector). For blocks that are not partial it is all ones or all
// zeros as the state implies.
func (d *Disk) SectorBitmap(i int64) ([]byte, error) {
	n := (d.BlockSize/d.LogicalSectorSize + 7) / 8
	dst := make([]byte, n)
	st, _ := d.BlockInfo(i)
	switch st {
	case BlockPresent:
		for j := range dst {
			dst[j] = 0xff
		}
		return dst, nil
	case BlockPartial:
		if err := d.blocks.sectorBitmap(i, dst); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// ReadFileAt reads the file's own bytes (after in-memory log replay).
func (d *Disk) ReadFileAt(p []byte, off int64) (int, error) { return d.r.ReadAt(p, off) }

// Close closes the file when the Disk was opened by OpenDisk.
func (d *Disk) Close() error {
	d.unmap()
	if d.closer == nil {
		return nil
	}
	return d.closer.Close()
}

// DiskOptions tune how a disk is read.
type DiskOptions struct {
	// IgnoreChecksums reads a VHD whose footer or dynamic header fails
	// its checksum (and has no good copy) instead of refusing it; the
	// fault stays in Disk.Warnings. For examiners who must see the data
	// of an image a tool wrote wrongly; qemu refuses such files, libvhdi
	// reads them.
	IgnoreChecksums bool
}

// NewDisk reads a VHDX or VHD image from r, whose length is size. It
// detects the format by its signatures and never writes.
func NewDisk(r io.ReaderAt, size int64) (*Disk, error) {
	return NewDiskOptions(r, size, DiskOptions{})
}

// NewDiskOptions is NewDisk with options.
func NewDiskOptions(r io.ReaderAt, size int64, opt DiskOptions) (*Disk, error) {
	var sig [8]byte
	if size >= 8 {
		if _, err := r.ReadAt(sig[:], 0); err != nil {
			return nil, fmt.Errorf("reading signature: %w", err)
		}
	}
	if bytes.Equal(sig[:], []byte("vhdxfile")) {
		return newVHDX(r, size)
	}
	return newVHD(r, size, opt)
}

// OpenDisk opens the named file read-only and reads it with NewDisk. Only
// a regular file or a block device is opened (a FIFO would block the open,
// a character device read forever: both are refused with ErrFormat), with
// O_NOATIME where the owner allows it.
func OpenDisk(name string) (*Disk, error) {
	f, _, size, err := srcfile.Open(name)
	if err != nil {
		if errors.Is(err, srcfile.ErrNotFile) {
			err = fmt.Errorf("%w: %w", ErrFormat, err)
		}
		return nil, err
	}
	d, err := NewNamedDisk(name, f, size)
	if err != nil {
		f.Close()
		return nil, err
	}
	return d, nil
}

// NewNamedDisk reads a disk from r (size bytes) as NewDisk does, names it,
// and takes r over: Close closes r when it is an io.Closer. When r is, or
// offers through OSFile(), an *os.File, reads get the kernel's read-ahead
// hints and zero-copy views map the file. Errors name the disk.
func NewNamedDisk(name string, r io.ReaderAt, size int64) (*Disk, error) {
	return NewNamedDiskOptions(name, r, size, DiskOptions{})
}

// NewNamedDiskOptions is NewNamedDisk with options.
func NewNamedDiskOptions(name string, r io.ReaderAt, size int64, opt DiskOptions) (*Disk, error) {
	d, err := NewDiskOptions(r, size, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	d.Name = name
	if c, ok := r.(io.Closer); ok {
		d.closer = c
	}
	switch f := r.(type) {
	case *os.File:
		d.file = f
	case interface{ OSFile() *os.File }:
		d.file = f.OSFile()
	case prefetcher:
		d.hint = f
	}
	if fe, ok := r.(fetcher); ok {
		if b, ok := d.blocks.(*vhdxBlocks); ok {
			b.fetch = fe
		}
	}
	return d, nil
}
