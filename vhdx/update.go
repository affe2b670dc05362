package vhdx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// Update changes an existing VHDX file in place, crash-safely: payload
// data only ever goes where the file's metadata does not point yet (new
// blocks at the end of the file, or sectors of a partial block whose
// bitmap bit is clear), and the metadata that then points at it (BAT,
// sector bitmaps, metadata region) changes only in Commit, through the
// VHDX log. A crash at any moment therefore leaves a file that reads as
// before the last Commit began or as after it (readers replay the log).
//
// Update changes the DataWriteGuid only when asked (SetDataWriteGUID):
// every other change keeps the virtual content each child sees (filling
// sectors the file deferred to a parent with the parent's bytes, or
// naming another parent with the same content), so children stay linked.
// Overwrite and ZeroBlocks are the exception made for a file whose own
// content is being discarded (see there). It is not safe for concurrent
// use, and it takes no lock: the caller excludes other writers.
type Update struct {
	f        *os.File
	name     string
	h        header
	p        diskParams
	batOff   int64
	metaOff  int64
	cr       int64
	nblocks  int64
	bat      []uint64
	batDirty map[int64]bool           // 4 KiB pages of the BAT changed since the last commit
	bitmaps  map[int64][]byte         // sector bitmap blocks by chunk, as they should become
	bmNew    map[int64]bool           // bitmap blocks allocated since the last commit
	bmDirty  map[int64]map[int64]bool // chunk → changed 4 KiB pages of an existing bitmap block
	meta     []byte                   // the metadata region as it should become
	metaOrig []byte                   // the metadata region on disk
	fileEnd  int64                    // where the next allocation goes
	logOff   int64
	logLen   int64
	newFWG   bool // FileWriteGuid already changed in this session

	// OnDurable, when set, is called after every step that made a change
	// durable (a sync), named for tests and progress; an error it returns
	// stops the update there, as a crash would (nothing is undone).
	OnDurable func(step string) error
}

// ErrHeld means a fill would overwrite sectors the file already holds,
// which would change what it reads before the metadata commits.
var ErrHeld = errors.New("vhdx: sectors already held by the file")

const (
	logPage         = logSectorSize
	maxMetaRegion   = 16 * mib // Hyper-V writes 1 MiB; bounds the copy kept in memory
	minLogForUpdate = 64 * kib
)

// OpenUpdate opens name for in-place changes. A log left by an
// interrupted writer is applied to the file first, as the spec requires
// before any other write. Space at the end of the file that nothing
// points at (left by an interrupted update) is dropped.
func OpenUpdate(name string) (*Update, error) {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	u := &Update{f: f, name: name}
	if err := u.load(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return u, nil
}

func (u *Update) load() error {
	d, err := u.readDisk()
	if err != nil {
		return err
	}
	if !d.vhdx.header.LogGUID.IsZero() {
		if err := u.applyPendingLog(d); err != nil {
			return err
		}
		if d, err = u.readDisk(); err != nil {
			return err
		}
	}
	l := d.vhdx
	u.h, u.p = l.header, l.params
	u.batOff, u.metaOff = int64(l.batRegion.Offset), int64(l.metaRegion.Offset)
	u.logOff, u.logLen = int64(u.h.LogOffset), int64(u.h.LogLength)
	if u.logLen < minLogForUpdate {
		return unsupportedErr(header1Off, "log of %d bytes is too small for a logged update", u.logLen)
	}
	if int64(l.metaRegion.Length) > maxMetaRegion {
		return unsupportedErr(u.metaOff, "metadata region of %d bytes", l.metaRegion.Length)
	}
	var entries int64
	u.cr, u.nblocks, entries = batGeometry(u.p)
	if err := u.readTables(entries, int64(l.metaRegion.Length)); err != nil {
		return err
	}
	u.batDirty, u.bitmaps, u.bmNew, u.bmDirty = map[int64]bool{}, map[int64][]byte{}, map[int64]bool{}, map[int64]map[int64]bool{}
	return u.trimTail(int64(l.batRegion.Offset)+int64(l.batRegion.Length), d.FileSize)
}

// UpdateSupported tells, without writing, whether OpenUpdate can change
// d in place: a VHDX file with a log that holds a useful commit and a
// metadata region of a size kept in memory. A merge asks before it
// commits to a plan.
func UpdateSupported(d *Disk) error {
	if d.Format != FormatVHDX || d.vhdx == nil {
		return fmt.Errorf("%s: %w: in-place updates need a VHDX file, this is %s", d.Name, ErrUnsupported, d.Format)
	}
	if l := int64(d.vhdx.header.LogLength); l < minLogForUpdate {
		return fmt.Errorf("%s: %w", d.Name, unsupportedErr(header1Off, "log of %d bytes is too small for a logged update", l))
	}
	if n := int64(d.vhdx.metaRegion.Length); n > maxMetaRegion {
		return fmt.Errorf("%s: %w", d.Name, unsupportedErr(int64(d.vhdx.metaRegion.Offset), "metadata region of %d bytes", n))
	}
	return nil
}

func (u *Update) readDisk() (*Disk, error) {
	st, err := u.f.Stat()
	if err != nil {
		return nil, err
	}
	d, err := NewDisk(u.f, st.Size())
	if err != nil {
		return nil, err
	}
	if d.Format != FormatVHDX {
		return nil, fmt.Errorf("%w: in-place updates need a VHDX file, this is %s", ErrUnsupported, d.Format)
	}
	return d, nil
}

func (u *Update) readTables(entries, metaLen int64) error {
	st, err := u.f.Stat()
	if err != nil {
		return err
	}
	raw := make([]byte, entries*8) // bounded: readBAT checked it against the region, inside the file
	if err := readFull(u.f, raw, u.batOff, st.Size(), "BAT"); err != nil {
		return err
	}
	u.bat = make([]uint64, entries)
	for i := range u.bat {
		u.bat[i] = binary.LittleEndian.Uint64(raw[8*i:])
	}
	u.metaOrig = make([]byte, metaLen)
	if err := readFull(u.f, u.metaOrig, u.metaOff, st.Size(), "metadata region"); err != nil {
		return err
	}
	u.meta = append([]byte(nil), u.metaOrig...)
	return nil
}

// trimTail sets where new space goes: after everything the file's
// structures point at. Anything past that was written by an update that
// never committed; it is cut so new blocks start as holes (zeros).
func (u *Update) trimTail(regionsEnd, size int64) error {
	end := max(regionsEnd, u.metaOff+int64(len(u.metaOrig)), u.logOff+u.logLen)
	bs := int64(u.p.BlockSize)
	for i, e := range u.bat {
		st := e & batStateMask
		off := int64(e >> 20 << 20)
		switch {
		case (int64(i)+1)%(u.cr+1) == 0 && st == sbPresent:
			end = max(end, off+sectorBitmapBlock)
		case (int64(i)+1)%(u.cr+1) != 0 && (st == payloadFullyPresent || st == payloadPartially):
			end = max(end, off+bs)
		}
	}
	u.fileEnd = roundUp(end, mib)
	if size > u.fileEnd {
		if err := u.f.Truncate(u.fileEnd); err != nil {
			return err
		}
		return u.f.Sync()
	}
	return nil
}

// Name returns the file's path.
func (u *Update) Name() string { return u.name }

// HasParent reports whether the file is (still) a differencing disk.
func (u *Update) HasParent() bool { return u.p.HasParent }

// BlockSize returns the payload block size.
func (u *Update) BlockSize() int64 { return int64(u.p.BlockSize) }

// SectorSize returns the logical sector size.
func (u *Update) SectorSize() int64 { return int64(u.p.LogicalSectorSize) }

// VirtualSize returns the virtual disk size.
func (u *Update) VirtualSize() int64 { return int64(u.p.VirtualSize) }

// Close closes the file. Changes not committed are dropped (the space
// they took is reclaimed by the next OpenUpdate).
func (u *Update) Close() error { return u.f.Close() }

func (u *Update) durable(step string) error {
	if u.OnDurable == nil {
		return nil
	}
	return u.OnDurable(step)
}

func (u *Update) sync(step string) error {
	if err := u.f.Sync(); err != nil {
		return fmt.Errorf("%s: sync: %w", u.name, err)
	}
	return u.durable(step)
}
