package btrfs

import (
	"errors"
	"io"
	"io/fs"
	"sort"
	"sync"

	"github.com/ckptfs/ckptfs/internal/cursor"
)

const (
	// maxExtents bounds the extent items one file may have (a 4 KiB
	// extent each would make an 8 GiB file).
	maxExtents = 1 << 21
	// maxCompressed bounds a compressed extent's size on disk and
	// decompressed; the kernel writes at most 128 KiB of either.
	maxCompressed = 1 << 20
	// maxReadChunk bounds the bytes read from the device in one go.
	maxReadChunk = 1 << 20
)

// File is an open file (not a directory). It reads through io.ReaderAt
// without shared state, so concurrent ReadAt calls are safe; Read and
// Seek keep a position for sequential use.
type File struct {
	fi   *FileInfo
	data *fileData
	path string
	cur  cursor.Cursor // for Read and Seek
}

var (
	_ io.ReaderAt = (*File)(nil)
	_ io.Seeker   = (*File)(nil)
)

func (f *File) Stat() (fs.FileInfo, error) { return f.fi, nil }
func (f *File) Close() error               { return nil }

// ReadAt reads the file's bytes at off. A range whose data fails its
// checksum returns an error wrapping ErrChecksum, never the bytes.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.data.ReadAt(p, off)
	if err != nil && err != io.EOF {
		err = &fs.PathError{Op: "read", Path: f.path, Err: err}
	}
	return n, err
}

// Read reads from the current offset.
func (f *File) Read(p []byte) (int, error) { return f.cur.Read(f, p) }

// Seek sets the offset for Read.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	return f.cur.Move(offset, whence, f.fi.Size(), f.path)
}

// Extent maps file bytes onto the device: [FileOff, FileOff+Len) of the
// file are the device bytes at VolOff; a Sparse extent (a hole) has no
// space and reads as zeros, a Prealloc one has space at VolOff but reads
// as zeros too (fallocate).
type Extent struct {
	FileOff  int64
	VolOff   int64 // -1 when Sparse
	Len      int64
	Sparse   bool
	Prealloc bool
}

// Extents maps the file's bytes onto the device, covering [0, size).
// exact is true when every byte reads as the device byte it maps to and
// nothing needs checking: no inline or compressed data, and no data
// checksums (files with checksums are read through ReadAt, which verifies
// them, so that a damaged sector is an error rather than wrong bytes).
// Compressed extents are listed at their compressed bytes.
func (f *File) Extents() (exts []Extent, exact bool, err error) {
	d := f.data
	if err := d.load(); err != nil {
		return nil, false, err
	}
	size := int64(d.in.size)
	exact = !d.verify()
	var pos int64
	gap := func(to int64) {
		if to > pos {
			exts = append(exts, Extent{FileOff: pos, VolOff: -1, Len: to - pos, Sparse: true})
			pos = to
		}
	}
	for _, e := range d.exts {
		start := int64(e.fileOff)
		if start >= size {
			break
		}
		gap(start)
		l := min(int64(e.length), size-start)
		switch {
		case e.typ == extInline:
			exact = false
			exts = append(exts, Extent{FileOff: start, VolOff: -1, Len: l})
		case e.diskBytenr == 0:
			exts = append(exts, Extent{FileOff: start, VolOff: -1, Len: l, Sparse: true})
		case e.typ == extPrealloc:
			vo, ok := d.v.chunks.direct(e.diskBytenr + e.offset)
			if !ok {
				vo = -1
			}
			exts = append(exts, Extent{FileOff: start, VolOff: vo, Len: l, Prealloc: true})
		default:
			logical := e.diskBytenr
			if e.compression == compNone {
				logical += e.offset
			} else {
				exact = false
			}
			vo, ok := d.v.chunks.direct(logical)
			if !ok {
				// Striped, rebuilt from parity or on another device: the
				// bytes are read through the file only.
				vo, exact = -1, false
			}
			exts = append(exts, Extent{FileOff: start, VolOff: vo, Len: l})
		}
		pos = start + l
	}
	gap(size)
	return exts, exact, nil
}

// fileData reads one inode's content by its extent items.
type fileData struct {
	v    *Volume
	r    ref
	in   inode
	once sync.Once
	exts []fileExtent
	err  error

	mu   sync.Mutex // guards the last decompressed extent
	zKey uint64
	zBuf []byte
}

// verify reports whether the file's data carries checksums.
func (d *fileData) verify() bool {
	return d.in.flags&inodeNoDataSum == 0 && d.v.csum.bytenr != 0
}

// load reads the file's extent items once, checking they do not overlap.
func (d *fileData) load() error {
	d.once.Do(func() {
		if d.r.stub {
			return
		}
		var end uint64
		d.err = d.v.walk(d.r.sv.tree, key{d.r.ino, typExtentData, 0}, key{d.r.ino, typExtentData, ^uint64(0)}, func(k key, b []byte) error {
			if len(d.exts) >= maxExtents {
				return formatErr(-1, "inode %d has more than %d extents", d.r.ino, maxExtents)
			}
			e, err := parseFileExtent(k.offset, b, -1)
			if err != nil {
				return err
			}
			if e.fileOff < end || e.fileOff+e.length < e.fileOff {
				return formatErr(-1, "inode %d: extent at file offset %d overlaps the one before", d.r.ino, e.fileOff)
			}
			if e.typ == extInline && e.fileOff != 0 {
				return formatErr(-1, "inode %d: inline extent at file offset %d", d.r.ino, e.fileOff)
			}
			end = e.fileOff + e.length
			d.exts = append(d.exts, e)
			return nil
		})
	})
	return d.err
}

// ReadAt reads the file's content; bytes no extent covers are zeros
// (holes, with or without the NO_HOLES feature).
func (d *fileData) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fs.ErrInvalid
	}
	size := int64(d.in.size)
	if off >= size {
		return 0, io.EOF
	}
	if err := d.load(); err != nil {
		return 0, err
	}
	want := len(p)
	if int64(want) > size-off {
		p = p[:size-off]
	}
	pos := uint64(off)
	for done := 0; done < len(p); {
		n, err := d.readPart(p[done:], pos)
		if err != nil {
			return done, err
		}
		done += n
		pos += uint64(n)
	}
	if len(p) < want {
		return len(p), io.EOF
	}
	return len(p), nil
}

// readPart fills the start of p from file offset pos, up to the end of
// the extent (or gap) holding pos.
func (d *fileData) readPart(p []byte, pos uint64) (int, error) {
	i := sort.Search(len(d.exts), func(i int) bool { return d.exts[i].fileOff+d.exts[i].length > pos })
	if i == len(d.exts) || d.exts[i].fileOff > pos {
		n := len(p)
		if i < len(d.exts) {
			n = int(min(uint64(n), d.exts[i].fileOff-pos))
		}
		clear(p[:n])
		return n, nil
	}
	e := &d.exts[i]
	rel := pos - e.fileOff
	p = p[:min(uint64(len(p)), e.length-rel)]
	switch {
	case e.typ == extInline:
		src, err := d.inlineData(e)
		if err != nil {
			return 0, err
		}
		return copyOrZero(p, src, rel), nil
	case e.diskBytenr == 0 || e.typ == extPrealloc:
		clear(p)
		return len(p), nil
	case e.compression != compNone:
		src, err := d.decompressed(e)
		if err != nil {
			return 0, err
		}
		return copyOrZero(p, src, e.offset+rel), nil
	}
	if len(p) > maxReadChunk {
		p = p[:maxReadChunk]
	}
	if err := d.v.readData(p, e.diskBytenr+e.offset+rel, d.verify()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// copyOrZero copies src[from:] into p and zeros what src does not reach
// (the kernel zero-fills a short decompressed extent too).
func copyOrZero(p, src []byte, from uint64) int {
	n := 0
	if from < uint64(len(src)) {
		n = copy(p, src[from:])
	}
	clear(p[n:])
	return len(p)
}

func (d *fileData) inlineData(e *fileExtent) ([]byte, error) {
	if e.compression == compNone {
		return e.inline, nil
	}
	if e.ramBytes > maxCompressed {
		return nil, formatErr(-1, "inode %d: inline extent of %d bytes", d.r.ino, e.ramBytes)
	}
	return decompress(e.compression, e.inline, int(e.ramBytes), int(d.v.sb.sectorSize))
}

// decompressed returns the whole decompressed disk extent of e, keeping
// the last one so that sequential reads decompress each extent once.
func (d *fileData) decompressed(e *fileExtent) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.zBuf != nil && d.zKey == e.diskBytenr {
		return d.zBuf, nil
	}
	if e.diskBytes > maxCompressed || e.ramBytes > maxCompressed || e.diskBytes == 0 {
		return nil, formatErr(-1, "inode %d: compressed extent of %d bytes (%d decompressed)", d.r.ino, e.diskBytes, e.ramBytes)
	}
	raw := make([]byte, e.diskBytes)
	if err := d.v.readData(raw, e.diskBytenr, d.verify()); err != nil {
		return nil, err
	}
	out, err := decompress(e.compression, raw, int(e.ramBytes), int(d.v.sb.sectorSize))
	if err != nil {
		return nil, err
	}
	d.zKey, d.zBuf = e.diskBytenr, out
	return out, nil
}

// readData reads the data bytes at logical into p. With verify, the
// sectors they lie in are read whole and checked against the checksum
// tree; a sector whose copy fails (a checksum, a missing device) is read
// from the next copy (DUP, RAID1, RAID10; a RAID5/6 rebuild) before
// giving up. p never holds bytes that failed their check.
func (v *Volume) readData(p []byte, logical uint64, verify bool) error {
	if len(p) == 0 {
		return nil
	}
	copies := v.chunks.copies(logical)
	if !verify {
		var firstErr error
		for m := range copies {
			err := v.chunks.readCopy(p, logical, m)
			if err == nil {
				return nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		return firstErr
	}
	ss := uint64(v.sb.sectorSize)
	start := logical &^ (ss - 1)
	end := (logical + uint64(len(p)) + ss - 1) &^ (ss - 1)
	nsec := int((end - start) / ss)
	sums, err := v.dataCsums(start, nsec)
	if err != nil {
		return err
	}
	// A sector-aligned read is checked in place; otherwise whole sectors
	// are read aside and the asked part copied out.
	buf := p
	if start != logical || end != logical+uint64(len(p)) {
		buf = make([]byte, end-start)
	}
	csz := csumSize(v.sb.csumType)
	good := make([]bool, nsec)
	left := nsec
	var firstErr error
	check := func(s int, m int) bool {
		if csumOK(v.sb.csumType, sums[s*csz:], buf[uint64(s)*ss:uint64(s+1)*ss]) {
			good[s] = true
			left--
			return true
		}
		if firstErr == nil {
			firstErr = kindErr(ErrChecksum, at(v.chunks.offsetOf(start, m), int64(uint64(s)*ss)), "data sector at logical 0x%x", start+uint64(s)*ss)
		}
		return false
	}
	for m := 0; m < copies && left > 0; m++ {
		if left == nsec {
			// Nothing read yet: the whole range from this copy.
			if err := v.chunks.readCopy(buf, start, m); err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			for s := range nsec {
				check(s, m)
			}
			continue
		}
		for s := range nsec {
			if good[s] {
				continue
			}
			sec := buf[uint64(s)*ss : uint64(s+1)*ss]
			if err := v.chunks.readCopy(sec, start+uint64(s)*ss, m); err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			check(s, m)
		}
	}
	if left > 0 {
		if len(buf) == len(p) && &buf[0] == &p[0] {
			clear(p) // never hand back bytes that failed their check
		}
		return firstErr
	}
	if len(buf) != len(p) || &buf[0] != &p[0] {
		copy(p, buf[logical-start:])
	}
	return nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// dataCsums returns the checksums of n data sectors from logical. A
// sector without one is an error, as in the kernel: the extent belongs to
// a file that has checksums.
func (v *Volume) dataCsums(logical uint64, n int) ([]byte, error) {
	ss := uint64(v.sb.sectorSize)
	csz := uint64(csumSize(v.sb.csumType))
	out := make([]byte, uint64(n)*csz)
	have := make([]bool, n)
	// An item covers at most a node's worth of checksums, so one that
	// starts more than that before logical cannot reach it.
	span := uint64(v.sb.nodeSize) / csz * ss
	lo := uint64(0)
	if logical > span {
		lo = logical - span
	}
	end := logical + uint64(n)*ss
	err := v.walk(v.csum, key{extentCsumID, typExtentCsum, lo}, key{extentCsumID, typExtentCsum, end - 1}, func(k key, d []byte) error {
		cnt := uint64(len(d)) / csz
		for i := range cnt {
			s := k.offset + i*ss
			if s < logical || s >= end {
				continue
			}
			j := (s - logical) / ss
			copy(out[j*csz:], d[i*csz:(i+1)*csz])
			have[j] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, ok := range have {
		if !ok {
			return nil, kindErr(ErrChecksum, -1, "no checksum for data sector at logical 0x%x", logical+uint64(i)*ss)
		}
	}
	return out, nil
}
