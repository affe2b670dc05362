package guest

import (
	"encoding/binary"
	"fmt"
)

// isoGuard stands between go-diskfs and an ISO 9660 volume. go-diskfs follows System Use continuation areas (SUSP
// "CE" entries, used by Rock Ridge) by allocating the length the entry
// gives, up to 4 GiB, before reading it, and follows a chain of them
// without end; it also sizes a directory's buffer from the length its "."
// record gives. Every read go-diskfs makes passes through inspect before
// go-diskfs parses it (go-diskfs reads only metadata here: file content is
// read by its extent, see diskFS.Open), so the guard checks each directory
// record it sees, and each continuation area it was told of, as the Linux
// kernel does: an area lies inside one block of the volume. Each call also
// gets a budget of bytes, which ends a chain that loops.
type isoGuard struct {
	size int64 // of the volume

	bytes, maxBytes int64 // read in the current call, and the cap
	err             error // the first refusal in the current call

	// areas holds the continuation areas announced by the records and
	// areas checked so far: a read starting there is an area.
	areas map[int64]struct{}
	// pathTable is where the primary descriptor puts the path table (-1
	// until a descriptor was read): its bytes are not records.
	pathTable int64
}

const (
	isoBlock = 2048
	// maxISOCallBytes bounds what one go-diskfs call reads: a directory
	// (at most maxISODirBytes) and the continuation areas of its records.
	maxISOCallBytes = 2 * maxISODirBytes
	// maxISODirBytes bounds a directory: a record is at most 255 bytes, so
	// this is some 260,000 entries.
	maxISODirBytes = 64 << 20
	maxISOAreas    = 1 << 16
)

func newISOGuard(size int64) *isoGuard {
	g := &isoGuard{size: size, pathTable: -1}
	g.begin()
	return g
}

// begin starts a go-diskfs call.
func (g *isoGuard) begin() { g.bytes, g.maxBytes, g.err = 0, maxISOCallBytes, nil }

// refusal returns the first error the guard gave go-diskfs in this call.
func (g *isoGuard) refusal() error { return g.err }

// inspect is the storage hook; see the type.
func (g *isoGuard) inspect(p []byte, off int64) error {
	if g.err != nil {
		return g.err
	}
	if g.bytes += int64(len(p)); g.bytes > g.maxBytes {
		g.err = fmt.Errorf("iso9660: more than %d bytes read for one request: %w", g.maxBytes, ErrUnsupported)
		return g.err
	}
	switch {
	case len(p) >= 6 && string(p[1:6]) == "CD001":
		// A volume descriptor; the primary one tells where the path
		// table is.
		if p[0] == 1 && len(p) >= 144 {
			g.pathTable = int64(binary.LittleEndian.Uint32(p[140:])) * isoBlock
		}
	case off == g.pathTable:
	case len(p) == 4 && off%isoBlock == 10:
		// The size field of a directory's "." record, which go-diskfs
		// reads alone to size the buffer for the whole directory.
		if n := int64(binary.LittleEndian.Uint32(p)); n > min(g.size, maxISODirBytes) {
			g.err = formatErr(off, "iso9660: directory of %d bytes", n)
		}
	case g.isArea(off):
		g.err = g.checkEntries(p, off)
	default:
		g.err = g.checkRecords(p, off)
	}
	return g.err
}

func (g *isoGuard) isArea(off int64) bool {
	_, ok := g.areas[off]
	return ok
}

// checkRecords walks what looks like directory records in p, block by
// block, and checks the System Use entries of each. Bytes that are not
// records (a volume descriptor, a path table) stop the walk of their block
// at once: a record is at least 34 bytes and holds its name.
func (g *isoGuard) checkRecords(p []byte, off int64) error {
	for start := 0; start < len(p); {
		end := min(len(p), start+int(isoBlock-(off+int64(start))%isoBlock))
		blk := p[start:end]
		for i := 0; i < len(blk); {
			n := int(blk[i])
			if n < 34 || i+n > len(blk) {
				break // padding to the block's end, or not a record
			}
			rec := blk[i : i+n]
			nameLen := int(rec[32])
			su := 33 + nameLen
			if nameLen > 1 && nameLen%2 == 0 {
				su++ // a pad byte keeps the System Use area even (go-diskfs's reading)
			}
			if su > n {
				break
			}
			if err := g.checkEntries(rec[su:], off+int64(start+i+su)); err != nil {
				return err
			}
			i += n
		}
		start = end
	}
	return nil
}

// checkEntries walks System Use entries. An entry must be at least the 4
// bytes of its header and end inside the area (go-diskfs steps by the
// length byte, and slices by it), and a continuation entry's
// area must lie inside one block of the volume.
func (g *isoGuard) checkEntries(b []byte, off int64) error {
	for j := 0; j+4 < len(b); {
		n := int(b[j+2])
		if n < 4 || j+n > len(b) {
			return formatErr(off+int64(j), "iso9660: System Use entry of %d bytes with %d left", n, len(b)-j)
		}
		if b[j] == 'C' && b[j+1] == 'E' && n >= 28 {
			loc := int64(binary.LittleEndian.Uint32(b[j+4:]))
			aoff := int64(binary.LittleEndian.Uint32(b[j+12:]))
			alen := int64(binary.LittleEndian.Uint32(b[j+20:]))
			if aoff+alen > isoBlock || loc*isoBlock+aoff+alen > g.size {
				return formatErr(off+int64(j), "iso9660: continuation area of %d bytes at offset %d of block %d (blocks are %d bytes, the volume %d)",
					alen, aoff, loc, isoBlock, g.size)
			}
			if g.areas == nil || len(g.areas) >= maxISOAreas {
				g.areas = make(map[int64]struct{})
			}
			g.areas[loc*isoBlock+aoff] = struct{}{}
		}
		j += n
	}
	return nil
}
