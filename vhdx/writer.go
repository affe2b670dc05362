package vhdx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf16"

	"github.com/ckptfs/ckptfs/internal/directio"
)

// CreateOptions describes a new VHDX file.
type CreateOptions struct {
	// VirtualSize in bytes; a differencing disk takes its parent's when 0.
	VirtualSize int64
	// BlockSize defaults to 32 MiB for base disks (as Hyper-V) and 2 MiB for
	// differencing disks (as Hyper-V's checkpoints).
	BlockSize int64
	// LogicalSectorSize defaults to 512 (the parent's for a differencing disk).
	LogicalSectorSize int64
	// PhysicalSectorSize defaults to 4096 (the parent's for a differencing disk).
	PhysicalSectorSize int64
	// Parent makes a differencing disk over this opened disk; ParentPath is
	// where it lives (written into the locator, relative to the new file).
	Parent     *Disk
	ParentPath string
	// Creator is written into the file identifier.
	Creator string
	// DiskID, DataWriteGUID and FileWriteGUID are chosen at random when
	// zero; set them for reproducible files (test data).
	DiskID, DataWriteGUID, FileWriteGUID GUID
	// DirectIO writes data that arrives aligned (offset, length and buffer
	// address multiples of 4 KiB) with O_DIRECT, for a file written once
	// and not read back soon, such as an export.
	DirectIO bool
}

// Writer creates a dynamic or differencing VHDX and writes data into it.
// It keeps the BAT and the sector bitmaps it changes in memory and writes
// them, then the headers, on Flush/Close. WriteAt may be called
// concurrently for distinct ranges; Flush and Close wait for the
// bookkeeping of writes in progress, not for their data.
type Writer struct {
	mu       sync.Mutex // guards bat, bitmaps, fileEnd, closed and the file's size
	f        *directio.File
	name     string
	p        diskParams
	h        header
	batOff   int64
	batLen   int64
	metaOff  int64
	bat      []uint64         // every BAT entry, payload and bitmap, in file order
	bitmaps  map[int64][]byte // sector bitmap blocks by chunk, loaded or new
	fileEnd  int64            // where the next block goes (1 MiB aligned)
	cr       int64
	nblocks  int64
	parent   *Disk
	closed   bool
	creation bool
}

// Fixed placement of a new file's structures, as Hyper-V lays them out.
const (
	newLogOff  = 1 * mib
	newLogLen  = 1 * mib
	newMetaOff = 2 * mib
	newMetaLen = 1 * mib
	newBATOff  = 3 * mib
)

// Create makes a new VHDX at name, which must not exist.
func Create(name string, opt CreateOptions) (*Writer, error) {
	p, err := opt.params()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	out := directio.Plain(f)
	if opt.DirectIO {
		out = directio.New(f, name)
	}
	w := &Writer{f: out, name: name, p: p, parent: opt.Parent, bitmaps: map[int64][]byte{}, creation: true}
	w.h = header{Sequence: 1, FileWriteGUID: orRandom(opt.FileWriteGUID), DataWriteGUID: orRandom(opt.DataWriteGUID),
		Version: 1, LogOffset: newLogOff, LogLength: newLogLen}
	var entries int64
	w.cr, w.nblocks, entries = batGeometry(p)
	w.bat = make([]uint64, entries)
	w.batOff, w.batLen = newBATOff, roundUp(entries*8, mib)
	w.metaOff = newMetaOff
	w.fileEnd = w.batOff + w.batLen
	if err := w.writeSkeleton(opt); err != nil {
		out.Close()
		os.Remove(name)
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return w, nil
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }

func (opt CreateOptions) params() (diskParams, error) {
	p := diskParams{VirtualSize: uint64(opt.VirtualSize), DiskID: orRandom(opt.DiskID)}
	bs, ls, ps := opt.BlockSize, opt.LogicalSectorSize, opt.PhysicalSectorSize
	if opt.Parent != nil {
		par := opt.Parent
		p.HasParent = true
		if p.VirtualSize == 0 {
			p.VirtualSize = uint64(par.VirtualSize)
		}
		if ls == 0 {
			ls = par.LogicalSectorSize
		}
		if ps == 0 {
			ps = par.PhysicalSectorSize
		}
		if bs == 0 {
			bs = 2 * mib
		}
		if par.Format != FormatVHDX {
			return p, fmt.Errorf("%w: a VHDX differencing disk needs a VHDX parent", ErrUnsupported)
		}
		p.Parent = &ParentLocator{Linkage: par.DataWriteGUID}
	}
	if bs == 0 {
		bs = 32 * mib
	}
	if ls == 0 {
		ls = 512
	}
	if ps == 0 {
		ps = 4096
	}
	p.BlockSize, p.LogicalSectorSize, p.PhysicalSectorSize = uint32(bs), uint32(ls), uint32(ps)
	if err := p.validate(0); err != nil {
		return p, err
	}
	return p, nil
}

// writeSkeleton writes everything but the BAT and headers: identifier,
// region tables, metadata.
func (w *Writer) writeSkeleton(opt CreateOptions) error {
	creator := opt.Creator
	if creator == "" {
		creator = "ckptfs"
	}
	ident := make([]byte, 8, 520)
	copy(ident, "vhdxfile")
	for _, c := range utf16.Encode([]rune(creator)) {
		ident = binary.LittleEndian.AppendUint16(ident, c)
	}
	if err := w.pwrite(ident[:min(len(ident), 520)], identifierOff); err != nil {
		return err
	}
	rt := encodeRegionTable([]regionEntry{
		{GUID: guidBATRegion, Offset: uint64(w.batOff), Length: uint32(w.batLen), Required: true},
		{GUID: guidMetadataRegion, Offset: uint64(w.metaOff), Length: newMetaLen, Required: true},
	})
	if err := w.pwrite(rt, regionTable1Off); err != nil {
		return err
	}
	if err := w.pwrite(rt, regionTable2Off); err != nil {
		return err
	}
	meta, err := w.encodeMetadata(opt)
	if err != nil {
		return err
	}
	if err := w.pwrite(meta, w.metaOff); err != nil {
		return err
	}
	return w.f.Truncate(w.fileEnd)
}

// encodeMetadata lays out the metadata table and items.
func (w *Writer) encodeMetadata(opt CreateOptions) ([]byte, error) {
	p := w.p
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	u64 := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	var flags uint32
	if p.HasParent {
		flags |= 2
	}
	type item struct {
		id    GUID
		data  []byte
		vdisk bool
	}
	items := []item{
		{guidFileParameters, append(u32(p.BlockSize), u32(flags)...), false},
		{guidVirtualDiskSize, u64(p.VirtualSize), true},
		{guidVirtualDiskID, p.DiskID[:], true},
		{guidLogicalSectorSize, u32(p.LogicalSectorSize), true},
		{guidPhysicalSectorSize, u32(p.PhysicalSectorSize), true},
	}
	if p.HasParent {
		loc, err := parentLocatorFor(w.name, opt.ParentPath, opt.Parent)
		if err != nil {
			return nil, err
		}
		items = append(items, item{guidParentLocator, loc, false})
	}
	out := make([]byte, metadataTableSz)
	var table []metadataEntry
	for _, it := range items {
		table = append(table, metadataEntry{ItemID: it.id, Offset: uint32(len(out)), Length: uint32(len(it.data)),
			IsVirtualDisk: it.vdisk, IsRequired: true})
		out = append(out, it.data...)
		out = append(out, make([]byte, roundUp(int64(len(it.data)), 8)-int64(len(it.data)))...)
	}
	if len(out) > newMetaLen {
		return nil, fmt.Errorf("%w: metadata of %d bytes does not fit", ErrUnsupported, len(out))
	}
	copy(out, encodeMetadataTable(table))
	return out, nil
}

// parentLocatorFor writes the locator a Hyper-V host and Linux tools can
// follow: the linkage, the path relative to the child (Windows separators),
// and the absolute path as this host knows it.
func parentLocatorFor(child, parentPath string, parent *Disk) ([]byte, error) {
	if parentPath == "" {
		parentPath = parent.Name
	}
	if parentPath == "" {
		return nil, errors.New("the parent's path is needed for its locator")
	}
	absParent, err := filepath.Abs(parentPath)
	if err != nil {
		return nil, err
	}
	absChild, err := filepath.Abs(child)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(filepath.Dir(absChild), absParent)
	if err != nil {
		return nil, err
	}
	win := func(p string) string { return strings.ReplaceAll(p, "/", `\`) }
	if !strings.HasPrefix(rel, "..") {
		rel = "./" + rel
	}
	return encodeParentLocator([][2]string{
		{"parent_linkage", linkageText(parent.DataWriteGUID)},
		{"relative_path", win(rel)},
		{"absolute_win32_path", win(absParent)},
	}), nil
}

func (w *Writer) pwrite(b []byte, off int64) error {
	_, err := w.f.WriteAt(b, off)
	return err
}

// Name returns the file's path.
func (w *Writer) Name() string { return w.name }

// Size returns the virtual size.
func (w *Writer) Size() int64 { return int64(w.p.VirtualSize) }

// DataWriteGUID is the identity a child of this disk must link to.
func (w *Writer) DataWriteGUID() GUID { return w.h.DataWriteGUID }

func orRandom(g GUID) GUID {
	if g.IsZero() {
		return NewGUID()
	}
	return g
}
