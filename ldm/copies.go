package ldm

import "fmt"

// Windows keeps copies of the structures that locate the database: the
// PRIVHEAD in sector 6 of an MBR disk and in sectors 1856 and 2047 of the
// database (the last one is the only one of a GPT disk's "LDM metadata"
// partition that is read), the TOCBLOCK in sectors 2 and 2045 of the
// database. Reading takes the first good copy; a damaged or differing
// other copy changes nothing read, but a forensic check must hear of it.

// privheadCopies are the database sectors holding PRIVHEAD copies.
var privheadCopies = []int64{1856, 2047}

// tocCopies are the database sectors Windows writes a TOCBLOCK to.
var tocCopies = []int64{2, 2045}

// CopyProblem is a redundant copy of an LDM structure that is damaged or
// differs from the copy that was read: Off is its byte offset in the disk.
type CopyProblem struct {
	Off  int64
	What string
}

// CheckCopies lists the PRIVHEAD and TOCBLOCK copies of the disk that are
// damaged or differ from the ones read (see above). Copies past a
// database smaller than Windows makes are not looked for.
func (d *Disk) CheckCopies() []CopyProblem {
	var out []CopyProblem
	read := make([]byte, privheadSize)
	if err := readAt(d.r, d.size, read, d.PrivheadOffset); err != nil {
		return []CopyProblem{{d.PrivheadOffset, fmt.Sprintf("PRIVHEAD: %v", err)}}
	}
	want, err := parsePrivhead(read, d.PrivheadOffset)
	if err != nil {
		return []CopyProblem{{d.PrivheadOffset, fmt.Sprintf("PRIVHEAD: %v", err)}}
	}
	var at []int64
	if d.Table == "mbr" {
		at = append(at, privheadMBR*SectorSize)
	}
	for _, s := range privheadCopies {
		if s*SectorSize < d.ConfigSize {
			at = append(at, d.ConfigStart+s*SectorSize)
		}
	}
	b := make([]byte, SectorSize)
	for _, off := range at {
		if off == d.PrivheadOffset {
			continue
		}
		if err := readAt(d.r, d.size, b, off); err != nil {
			out = append(out, CopyProblem{off, fmt.Sprintf("PRIVHEAD copy: %v", err)})
			continue
		}
		got, err := parsePrivhead(b, off)
		switch {
		case err != nil:
			out = append(out, CopyProblem{off, fmt.Sprintf("PRIVHEAD copy damaged (the copy at byte %d is read): %v", d.PrivheadOffset, err)})
		case got != want:
			out = append(out, CopyProblem{off, fmt.Sprintf("PRIVHEAD copy differs from the one read at byte %d", d.PrivheadOffset)})
		}
	}
	return append(out, d.checkTOCs()...)
}

// checkTOCs compares the TOCBLOCK copies with the first good one (the one
// the database was read through).
func (d *Disk) checkTOCs() []CopyProblem {
	var out []CopyProblem
	var first *[2]tocBitmap
	var firstAt int64
	b := make([]byte, SectorSize)
	for _, s := range tocCopies {
		off := d.ConfigStart + s*SectorSize
		if s*SectorSize >= d.ConfigSize {
			continue
		}
		if err := readAt(d.r, d.size, b, off); err != nil {
			out = append(out, CopyProblem{off, fmt.Sprintf("TOCBLOCK copy: %v", err)})
			continue
		}
		t, err := parseTOC(b, off)
		switch {
		case err != nil:
			out = append(out, CopyProblem{off, fmt.Sprintf("TOCBLOCK copy damaged: %v", err)})
		case first == nil:
			first, firstAt = &t, off
		case t != *first:
			out = append(out, CopyProblem{off, fmt.Sprintf("TOCBLOCK copy differs from the one read at byte %d", firstAt)})
		}
	}
	return out
}
