package exfat

// The root directory's system tables: the up-case table, through which
// names are compared, and the allocation bitmap, which says which
// clusters are in use.

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"unicode"
	"unicode/utf16"
)

// maxUpcaseBytes caps the up-case table: uncompressed it maps the 65,536
// code units of the BMP in 128 KiB; compressed it is smaller.
const maxUpcaseBytes = 128 << 10

// upcaseTable maps each UTF-16 code unit to its upper case, as the
// volume's up-case table says: names are compared through it, so two
// names differing only in case are one name on exFAT.
type upcaseTable [65536]uint16

// upcaseChecksum is the TableChecksum of an up-case table's bytes.
func upcaseChecksum(b []byte) uint32 {
	var sum uint32
	for _, c := range b {
		sum = bits.RotateLeft32(sum, -1) + uint32(c)
	}
	return sum
}

// decodeUpcase expands a table: a run of code units each mapping the next
// character, where 0xFFFF followed by a count N says the next N
// characters map to themselves (the compressed form mkfs and Windows
// write). Characters past the table's end map to themselves.
func decodeUpcase(b []byte) *upcaseTable {
	t := new(upcaseTable)
	for i := range t {
		t[i] = uint16(i)
	}
	c := 0
	for i := 0; i+1 < len(b) && c < len(t); i += 2 {
		u := binary.LittleEndian.Uint16(b[i:])
		if u == 0xFFFF && i+3 < len(b) {
			c += int(binary.LittleEndian.Uint16(b[i+2:]))
			i += 2
			continue
		}
		t[c] = u
		c++
	}
	return t
}

// loadUpcase reads the up-case table the root directory names and checks
// its checksum. Without a good table, names are compared through Go's
// Unicode case mapping instead (the same for every letter the tables of
// mkfs.exfat and Windows know), and the error says why.
func (v *FS) loadUpcase(ri *rootInfo) (*upcaseTable, error) {
	if !ri.hasUpcase {
		return nil, formatErr(-1, "the root directory has no up-case table entry")
	}
	u := ri.upcase
	if u.len <= 0 || u.len > maxUpcaseBytes || u.len%2 != 0 {
		return nil, formatErr(u.at+24, "up-case table of %d bytes", u.len)
	}
	runs, err := v.chainRuns(u.first, u.len, false, "up-case table", u.at)
	if err != nil {
		return nil, err
	}
	b := make([]byte, u.len)
	if err := v.readRuns(runs, b, 0); err != nil {
		return nil, err
	}
	if got := upcaseChecksum(b); got != ri.upcaseSum {
		return nil, kindErr(ErrChecksum, u.at+4, "up-case table checksum %#08x, its bytes sum to %#08x", ri.upcaseSum, got)
	}
	return decodeUpcase(b), nil
}

// fold returns name in upper case as the volume compares names.
func (v *FS) fold(name string) string {
	units := utf16.Encode([]rune(name))
	for i, c := range units {
		if v.upcase != nil {
			units[i] = v.upcase[c]
		} else if c < 0xD800 || c > 0xDFFF {
			if r := unicode.ToUpper(rune(c)); r < 0x10000 {
				units[i] = uint16(r)
			}
		}
	}
	return string(utf16.Decode(units))
}

// Usage counts the clusters the active allocation bitmap marks in use,
// of the volume's ClusterCount (bytes: multiply by ClusterSize). It reads
// the bitmap (ClusterCount bits) in chunks.
func (v *FS) Usage() (used, total int64, err error) {
	bm := v.root.bitmaps[0]
	for i := 0; i < v.root.nBitmaps; i++ {
		// With two FATs, BitmapFlags bit 0 says which one an entry is.
		if int(v.root.bitmaps[i].flags&1) == v.boot.activeFat() {
			bm = v.root.bitmaps[i]
		}
	}
	total = int64(v.boot.ClusterCount)
	need := (total + 7) / 8
	if bm.len < need {
		return 0, total, formatErr(bm.at+24, "allocation bitmap of %d bytes for %d clusters", bm.len, total)
	}
	runs, err := v.chainRuns(bm.first, need, false, "allocation bitmap", bm.at)
	if err != nil {
		return 0, total, err
	}
	buf := make([]byte, min(need, 1<<20))
	for off := int64(0); off < need; off += int64(len(buf)) {
		chunk := buf[:min(int64(len(buf)), need-off)]
		if err := v.readRuns(runs, chunk, off); err != nil {
			return 0, total, fmt.Errorf("exfat: reading the allocation bitmap: %w", err)
		}
		if last := off + int64(len(chunk)); last == need && total%8 != 0 {
			// Bits past the last cluster are not clusters.
			chunk[len(chunk)-1] &= byte(1)<<(total%8) - 1
		}
		for _, c := range chunk {
			used += int64(bits.OnesCount8(c))
		}
	}
	return used, total, nil
}
