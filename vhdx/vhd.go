package vhdx

import (
	"bytes"
	"fmt"
	"io"
)

// footerPick is the footer chosen among the end copy and the copy at 0.
type footerPick struct {
	f        vhdFooter
	off      int64 // where it was read
	endOff   int64 // where the end footer starts, or size when there is none
	atEnd    bool
	warnings []string
}

// newVHD reads a legacy VHD (fixed, dynamic or differencing).
//
// The virtual size is always the footer's current size, as Windows and
// libvhdi read it. qemu instead uses the CHS geometry for creators it does
// not list as footer-size writers ("vpc ", "qemu"), which for Virtual PC
// images is a little smaller; the sectors past the CHS size are ones those
// guests could not address, so they hold nothing the guest wrote.
func newVHD(r io.ReaderAt, size int64, opt DiskOptions) (*Disk, error) {
	if size < vhdOldFooter {
		return nil, formatErr(0, "no VHD footer (conectix) and no VHDX signature: file has only %d bytes", size)
	}
	fp, err := pickVHDFooter(r, size, opt.IgnoreChecksums)
	if err != nil {
		return nil, err
	}
	f := &fp.f
	if err := checkVHDFooter(f, fp.off); err != nil {
		return nil, err
	}
	d := &Disk{
		Format:             FormatVHD,
		FileSize:           size,
		VirtualSize:        int64(f.CurrentSize),
		LogicalSectorSize:  vhdSector,
		PhysicalSectorSize: vhdSector,
		DiskID:             f.UniqueID,
		DataWriteGUID:      f.UniqueID,
		Created:            vhdTime(f.Timestamp),
		Warnings:           fp.warnings,
		r:                  r,
	}
	if fp.atEnd {
		d.Header = "footer at end"
	} else {
		d.Header = "footer copy at 0"
	}
	switch f.DiskType {
	case vhdTypeFixed:
		err = openVHDFixed(d, fp)
		if wr, ok := r.(writtenRanger); ok && err == nil {
			if ranges, ok := wr.WrittenRanges(); ok {
				d.blocks.(*vhdFixedMap).markUnwritten(ranges, d.VirtualSize)
			}
		}
	case vhdTypeDynamic, vhdTypeDifferencing:
		err = openVHDDynamic(d, r, fp, opt.IgnoreChecksums)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// readVHDFooterAt reads and decodes a footer of n bytes at off. ok is false
// when there is no cookie; csOK tells whether the checksum matches.
func readVHDFooterAt(r io.ReaderAt, off int64, n int) (f vhdFooter, ok, csOK bool, err error) {
	b := make([]byte, n)
	if _, err = r.ReadAt(b, off); err != nil {
		return f, false, false, &ioError{off: off, what: "VHD footer", err: err}
	}
	f, ok = decodeVHDFooter(b)
	return f, ok, ok && f.checksumOK(b), nil
}

// pickVHDFooter finds the footer: the one in the last 512 (or, for images
// older than Virtual PC 2004, 511) bytes, else the copy at offset 0 that
// dynamic and differencing disks keep. A damaged end footer is tolerated
// when the copy is good, because the copy exists for exactly that case.
func pickVHDFooter(r io.ReaderAt, size int64, ignoreChecksums bool) (footerPick, error) {
	fp := footerPick{endOff: size}
	var end vhdFooter
	var endOK, endCS bool
	for _, n := range []int{vhdFooterSize, vhdOldFooter} {
		if size < int64(n) {
			continue
		}
		f, ok, cs, err := readVHDFooterAt(r, size-int64(n), n)
		if err != nil {
			return fp, err
		}
		if ok {
			end, endOK, endCS, fp.endOff = f, true, cs, size-int64(n)
			break
		}
	}
	var first vhdFooter
	var firstOK, firstCS bool
	if size >= vhdFooterSize && fp.endOff != 0 {
		f, ok, cs, err := readVHDFooterAt(r, 0, vhdFooterSize)
		if err != nil {
			return fp, err
		}
		first, firstOK, firstCS = f, ok, cs
	}
	switch {
	case endOK && endCS:
		fp.f, fp.off, fp.atEnd = end, fp.endOff, true
		if end.DiskType != vhdTypeFixed {
			switch {
			case !firstOK:
				fp.warnings = append(fp.warnings, "VHD footer copy at 0 is missing")
			case !firstCS:
				fp.warnings = append(fp.warnings, "VHD footer copy at 0 has a bad checksum")
			case !sameVHDFooter(&first, &end):
				fp.warnings = append(fp.warnings, "VHD footer copy at 0 differs from the footer at the end")
			}
		}
		return fp, nil
	case firstOK && firstCS:
		fp.f, fp.off = first, 0
		if endOK {
			fp.warnings = append(fp.warnings, fmt.Sprintf("VHD footer at 0x%x has a bad checksum; used the copy at 0", fp.endOff))
		} else {
			fp.warnings = append(fp.warnings, "VHD footer at the end is missing; used the copy at 0")
		}
		return fp, nil
	case endOK && ignoreChecksums:
		fp.f, fp.off, fp.atEnd = end, fp.endOff, true
		fp.warnings = append(fp.warnings, fmt.Sprintf("VHD footer at 0x%x has a bad checksum (read anyway: checksums ignored)", fp.endOff))
		return fp, nil
	case firstOK && ignoreChecksums:
		fp.f, fp.off = first, 0
		fp.warnings = append(fp.warnings, "VHD footer copy at 0 has a bad checksum and there is no footer at the end (read anyway: checksums ignored)")
		return fp, nil
	case endOK:
		return fp, checksumErr(fp.endOff, "VHD footer checksum (and no good copy at 0)")
	case firstOK:
		return fp, checksumErr(0, "VHD footer copy at 0 checksum (and no footer at the end)")
	}
	return fp, formatErr(max(size-vhdFooterSize, 0), "no VHD footer (conectix) and no VHDX signature")
}

// sameVHDFooter compares two footers ignoring the saved-state flag, which
// some writers update in only one copy.
func sameVHDFooter(a, b *vhdFooter) bool {
	x, y := *a, *b
	x.SavedState, y.SavedState = 0, 0
	x.Checksum, y.Checksum = 0, 0
	return x == y
}

// checkVHDFooter rejects footers this package cannot read.
func checkVHDFooter(f *vhdFooter, off int64) error {
	if f.Version>>16 != 1 {
		return unsupportedErr(off+12, "VHD format version 0x%08x (only 1.x)", f.Version)
	}
	switch f.DiskType {
	case vhdTypeFixed, vhdTypeDynamic, vhdTypeDifferencing:
	default:
		return formatErr(off+60, "VHD disk type %d (want 2 fixed, 3 dynamic or 4 differencing)", f.DiskType)
	}
	if f.CurrentSize > uint64(vhdMaxSize) {
		return formatErr(off+48, "VHD current size %d exceeds %d", f.CurrentSize, vhdMaxSize)
	}
	if f.CurrentSize%vhdSector != 0 {
		return formatErr(off+48, "VHD current size %d is not a multiple of %d", f.CurrentSize, vhdSector)
	}
	return nil
}

// openVHDFixed fills d for a fixed disk, whose payload is the file up to
// the footer.
func openVHDFixed(d *Disk, fp footerPick) error {
	if !fp.atEnd {
		return formatErr(fp.endOff, "fixed VHD without a footer at the end")
	}
	if d.VirtualSize > fp.endOff {
		return formatErr(fp.off+48, "fixed VHD of %d bytes needs more than the %d bytes before its footer", d.VirtualSize, fp.endOff)
	}
	d.Type = TypeFixed
	d.BlockSize = vhdFixedBlock
	d.blocks = &vhdFixedMap{blockSize: vhdFixedBlock}
	return nil
}

// openVHDDynamic reads the dynamic header and BAT of a dynamic or
// differencing disk.
func openVHDDynamic(d *Disk, r io.ReaderAt, fp footerPick, ignoreChecksums bool) error {
	f := &fp.f
	size := d.FileSize
	if f.DataOffset > uint64(size) || uint64(size)-f.DataOffset < vhdDynHeaderSize {
		return formatErr(fp.off+16, "VHD dynamic header offset 0x%x lies outside the %d-byte file", f.DataOffset, size)
	}
	hOff := int64(f.DataOffset)
	b := make([]byte, vhdDynHeaderSize)
	if _, err := r.ReadAt(b, hOff); err != nil {
		return &ioError{off: hOff, what: "VHD dynamic header", err: err}
	}
	h, ok := decodeVHDDynHeader(b)
	if !ok {
		return formatErr(hOff, "no VHD dynamic header (cxsparse), found %q", bytes.TrimRight(b[:8], "\x00"))
	}
	if !h.checksumOK(b) {
		if !ignoreChecksums {
			return checksumErr(hOff+vhdDynCsOff, "VHD dynamic header checksum")
		}
		d.Warnings = append(d.Warnings, fmt.Sprintf("VHD dynamic header at 0x%x has a bad checksum (read anyway: checksums ignored)", hOff))
	}
	m, err := vhdDynamicLayout(d, &h, hOff, fp.endOff)
	if err != nil {
		return err
	}
	if m.bat, err = readVHDBAT(r, m.batOff, d.Blocks()); err != nil {
		return err
	}
	m.r = r
	if n, first := m.badEntries(); n > 0 {
		d.Warnings = append(d.Warnings, fmt.Sprintf("%d VHD BAT entries point outside the file (first: block %d); those blocks are invalid", n, first))
	}
	d.blocks = m
	d.Type = TypeDynamic
	if f.DiskType == vhdTypeDifferencing {
		d.Type = TypeDifferencing
		if d.Parent, err = readVHDParent(r, size, &h, hOff); err != nil {
			return err
		}
	}
	return nil
}

// vhdDynamicLayout checks the header's block size and BAT against the
// virtual size and the file, and sets d.BlockSize.
func vhdDynamicLayout(d *Disk, h *vhdDynHeader, hOff, limit int64) (*vhdDynamicMap, error) {
	bs := int64(h.BlockSize)
	if bs < vhdMinBlockSize || bs > vhdMaxBlockSize || bs&(bs-1) != 0 {
		return nil, formatErr(hOff+32, "VHD block size %d is not a power of two in [%d, %d]", bs, vhdMinBlockSize, vhdMaxBlockSize)
	}
	d.BlockSize = bs
	need := d.Blocks()
	if int64(h.MaxTableEntries) < need {
		return nil, formatErr(hOff+28, "VHD BAT has %d entries, the %d-byte disk needs %d blocks of %d bytes",
			h.MaxTableEntries, d.VirtualSize, need, bs)
	}
	size := d.FileSize
	if h.TableOffset > uint64(size) || (uint64(size)-h.TableOffset)/4 < uint64(need) {
		return nil, formatErr(hOff+16, "VHD BAT at 0x%x with %d entries lies outside the %d-byte file", h.TableOffset, need, size)
	}
	return &vhdDynamicMap{
		batOff:     int64(h.TableOffset),
		blockSize:  bs,
		bitmapSize: vhdBitmapSize(bs),
		limit:      limit,
	}, nil
}
