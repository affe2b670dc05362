package exfat

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"unicode/utf16"
)

// rootInfo holds what only the root directory has: the volume label, the
// volume GUID and the entries of the allocation bitmaps and the up-case
// table.
type rootInfo struct {
	label      string
	guid       [16]byte
	hasGUID    bool
	bitmaps    [2]sysEntry
	nBitmaps   int
	upcase     sysEntry
	hasUpcase  bool
	upcaseSum  uint32
	upcaseAt   int64
	labelFound bool
}

// sysEntry is the allocation of a bitmap or the up-case table (always
// FAT-chained).
type sysEntry struct {
	first uint32
	len   int64
	flags uint8
	at    int64 // volume offset of the entry
}

// listing is a parsed directory: its entries sorted by name, and the
// problems that made some entry sets be skipped.
type listing struct {
	entries []*entry
	skipped []error
	fold    map[string]*entry // built on the first case-insensitive lookup
}

// lookup finds a name exactly.
func (l *listing) lookup(name string) *entry {
	i, ok := slices.BinarySearchFunc(l.entries, name, func(e *entry, n string) int { return strings.Compare(e.name, n) })
	if !ok {
		return nil
	}
	return l.entries[i]
}

// volAt is the volume offset of byte off of an allocation.
func volAt(runs []run, off int64) int64 {
	for _, r := range runs {
		if off < r.fileOff+r.length {
			return r.volOff + off - r.fileOff
		}
	}
	return -1
}

// dirParser walks a directory's bytes entry by entry.
type dirParser struct {
	v    *FS
	buf  []byte
	runs []run
	root *rootInfo // nil for any other directory
	out  listing
}

// parseDir decodes a directory. Entry sets that break the rules are
// skipped and listed in skipped (the rest of the directory stays
// readable, as chkdsk would keep it); an entry that makes the whole
// directory invalid (a critical primary entry of an unknown type, or a
// root-only one elsewhere) fails it.
func (v *FS) parseDir(buf []byte, runs []run, root *rootInfo) (*listing, error) {
	p := &dirParser{v: v, buf: buf, runs: runs, root: root}
	for i := 0; i+entrySize <= len(buf); {
		t := buf[i]
		switch {
		case t == typeEnd:
			i = len(buf)
			continue
		case t&typeInUse == 0, t&typeSecondary != 0:
			// Deleted or unused, or a secondary entry outside any set
			// (left by a set skipped below).
			i += entrySize
			continue
		}
		next, err := p.primary(i)
		if err != nil {
			return nil, err
		}
		i = next
	}
	p.sortAndDedup()
	return &p.out, nil
}

// skip records an entry set left out of the listing.
func (p *dirParser) skip(err error) { p.out.skipped = append(p.out.skipped, err) }

// primary decodes the primary entry at byte i and returns where the next
// entry starts.
func (p *dirParser) primary(i int) (int, error) {
	b := p.buf[i : i+entrySize]
	at := volAt(p.runs, int64(i))
	switch b[0] {
	case typeFile:
		return p.fileSet(i, at), nil
	case typeBitmap, typeUpcase, typeLabel:
		if p.root == nil {
			return 0, formatErr(at, "root-only entry %#x in a subdirectory", b[0])
		}
		return i + entrySize, p.rootEntry(b, at)
	}
	n := 1 + int(b[1])
	if b[0]&typeBenign == 0 {
		return 0, kindErr(ErrUnsupported, at, "critical primary directory entry of unknown type %#x", b[0])
	}
	if b[0] == typeGUID && p.root != nil && i+n*entrySize <= len(p.buf) {
		set := p.buf[i : i+n*entrySize]
		if setChecksum(set) == binary.LittleEndian.Uint16(b[2:]) {
			copy(p.root.guid[:], b[6:22])
			p.root.hasGUID = true
		} else {
			p.skip(kindErr(ErrChecksum, at, "volume GUID entry"))
		}
	}
	// Any other benign primary entry (TexFAT padding, Windows CE access
	// control) is not ours to read: skip it with its secondary entries.
	return i + n*entrySize, nil
}

// rootEntry records the bitmap, up-case table or label entry b.
func (p *dirParser) rootEntry(b []byte, at int64) error {
	le := binary.LittleEndian
	se := sysEntry{first: le.Uint32(b[20:]), len: int64(min(le.Uint64(b[24:]), 1<<62)), flags: b[1], at: at}
	r := p.root
	switch b[0] {
	case typeBitmap:
		if r.nBitmaps == 2 {
			return formatErr(at, "a third allocation bitmap entry")
		}
		r.bitmaps[r.nBitmaps] = se
		r.nBitmaps++
	case typeUpcase:
		r.upcase, r.hasUpcase, r.upcaseSum, r.upcaseAt = se, true, le.Uint32(b[4:]), at
	case typeLabel:
		n := min(int(b[1]), 11)
		units := make([]uint16, n)
		for j := range units {
			units[j] = le.Uint16(b[2+2*j:])
		}
		r.label, r.labelFound = string(utf16.Decode(units)), true
	}
	return nil
}

// fileSet decodes the File entry set at byte i (volume offset at) and
// returns where the next entry starts: after the set when it was whole,
// else right after the File entry, so that whatever follows is still
// seen.
func (p *dirParser) fileSet(i int, at int64) int {
	sc := int(p.buf[i+1])
	if sc < 2 || sc > 18 {
		p.skip(formatErr(at+1, "file entry with %d secondary entries (2-18)", sc))
		return i + entrySize
	}
	end := i + (1+sc)*entrySize
	if end > len(p.buf) {
		p.skip(formatErr(at, "file entry set runs past the end of its directory"))
		return len(p.buf)
	}
	set := p.buf[i:end]
	for j := entrySize; j < len(set); j += entrySize {
		if t := set[j]; t&typeInUse == 0 || t&typeSecondary == 0 {
			p.skip(formatErr(at+int64(j), "entry %#x where secondary entry %d of %d belongs", t, j/entrySize, sc))
			return i + entrySize
		}
	}
	if got, want := binary.LittleEndian.Uint16(set[2:]), setChecksum(set); got != want {
		p.skip(kindErr(ErrChecksum, at+2, "entry set checksum %#04x, its entries sum to %#04x", got, want))
		return i + entrySize
	}
	e, err := decodeSet(set, at)
	if err != nil {
		p.skip(err)
		return end
	}
	// Past the stream extension and the name, a critical secondary entry
	// of a later revision makes the whole set one this package must not
	// open; benign ones (vendor extensions) are ignored.
	names := (len(utf16.Encode([]rune(e.name))) + nameCharsPerEntry - 1) / nameCharsPerEntry
	for j := (2 + names) * entrySize; j < len(set); j += entrySize {
		if t := set[j]; t&typeBenign == 0 {
			p.skip(kindErr(ErrUnsupported, at+int64(j), "%q has a critical secondary entry of unknown type %#x", e.name, t))
			return end
		}
	}
	if bad := badName(e.name); bad != "" {
		p.skip(formatErr(at, "name %q %s", e.name, bad))
		return end
	}
	p.out.entries = append(p.out.entries, e)
	return end
}

// badName says why a name cannot stand in an io/fs path ("" when it can).
// exFAT forbids these characters; a volume that has them is damaged.
func badName(name string) string {
	switch {
	case name == "." || name == "..":
		return "is reserved"
	case strings.ContainsAny(name, "/\x00"):
		return "holds a slash or NUL"
	}
	return ""
}

// sortAndDedup sorts the entries by name and drops all but the first of
// equal names (a damaged directory; the specification makes names unique
// even ignoring case).
func (p *dirParser) sortAndDedup() {
	es := p.out.entries
	slices.SortStableFunc(es, func(a, b *entry) int { return strings.Compare(a.name, b.name) })
	out := es[:0]
	for _, e := range es {
		if len(out) > 0 && out[len(out)-1].name == e.name {
			p.skip(formatErr(e.off, "a second entry named %q", e.name))
			continue
		}
		out = append(out, e)
	}
	p.out.entries = out
}

// readDir reads and parses the directory e (nil for the root).
func (v *FS) readDir(e *entry) (*listing, error) {
	if e == nil {
		return v.readRoot()
	}
	if e.dataLen > maxDirBytes {
		return nil, formatErr(e.off, "directory %q of %d bytes (at most %d)", e.name, e.dataLen, maxDirBytes)
	}
	runs, err := v.chainRuns(e.firstCluster, e.dataLen, e.noFatChain, fmt.Sprintf("directory %q", e.name), e.off)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, e.dataLen)
	if err := v.readRuns(runs, buf, 0); err != nil {
		return nil, err
	}
	return v.parseDir(buf, runs, nil)
}

// readRoot reads the root directory's chain to its end and parses it,
// recording the root-only entries in v.rootInfo.
func (v *FS) readRoot() (*listing, error) {
	runs, err := v.chainRuns(v.boot.RootCluster, -1, false, "root directory", 96)
	if err != nil {
		return nil, err
	}
	last := runs[len(runs)-1]
	buf := make([]byte, last.fileOff+last.length)
	if err := v.readRuns(runs, buf, 0); err != nil {
		return nil, err
	}
	var ri rootInfo
	l, err := v.parseDir(buf, runs, &ri)
	if err != nil {
		return nil, err
	}
	v.rootOnce.Do(func() { v.root = ri })
	return l, nil
}
