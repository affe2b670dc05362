//go:build linux

package crosswin

import (
	"maps"
	"slices"
	"strings"
	"time"
)

const attrSystem = 0x4 // FILE_ATTRIBUTE_SYSTEM

// what says which fields an oracle shows faithfully; compare checks only
// those.
type what struct {
	oracle  string
	links   bool          // symlinks are symlinks there (else: skipped)
	content bool          // size and bytes
	mtime   time.Duration // the precision mtime is compared at; 0: not
	nlink   bool
	id      bool
	streams bool
	attrs   uint32 // the Windows attribute bits compared
	alloc   bool   // allocated bytes (st_blocks) of files whose holes we map
}

// compare checks that ours and theirs hold the same paths (names exact,
// case included) and, for each, the fields w names.
func compare(c *checker, ours, theirs tree, w what) {
	for _, p := range sortedKeys(theirs) {
		if _, ok := ours[p]; !ok {
			c.errorf("%s: %q is missing from ours (%c)", w.oracle, p, theirs[p].typ)
		}
	}
	for _, p := range sortedKeys(ours) {
		o, t := ours[p], theirs[p]
		if t == nil {
			c.errorf("%s: %q (%c) is not there", w.oracle, p, o.typ)
			continue
		}
		c.files++
		compareEntry(c, p, o, t, w)
	}
}

func compareEntry(c *checker, p string, o, t *entry, w what) {
	if o.typ == 'l' && !w.links {
		return
	}
	if w.oracle == "ntfs-3g" && t.typ == 'p' && o.typ == 'f' && o.size == 0 && o.attrs&attrSystem != 0 {
		// ntfs-3g's Interix convention, not Windows': an empty file with
		// the System attribute is shown as a FIFO. Windows and sleuthkit
		// (r/r, size 0) see an empty file, as we do.
		return
	}
	if o.typ != t.typ {
		c.errorf("%s: %q: type %c, theirs %c", w.oracle, p, o.typ, t.typ)
		return
	}
	if o.typ == 'l' && o.target != t.target && !ntfs3gUnsupportedLink(w, t) {
		c.errorf("%s: %q: link resolves to %q, theirs to %q", w.oracle, p, o.target, t.target)
	}
	if w.content && o.typ == 'f' {
		if o.size != t.size {
			c.errorf("%s: %q: size %d, theirs %d", w.oracle, p, o.size, t.size)
		} else if o.hash != t.hash {
			c.errorf("%s: %q: content differs (size %d)", w.oracle, p, o.size)
		}
	}
	if w.mtime > 0 && o.typ != 'l' && !t.mtime.IsZero() && !sameTime(w, o.mtime, t.mtime) {
		c.errorf("%s: %q: mtime %s, theirs %s", w.oracle, p, o.mtime.UTC().Format(time.RFC3339Nano), t.mtime.UTC().Format(time.RFC3339Nano))
	}
	if w.nlink && o.typ == 'f' && o.nlink != t.nlink {
		c.errorf("%s: %q: %d links, theirs %d", w.oracle, p, o.nlink, t.nlink)
	}
	if w.id && o.id != t.id {
		c.errorf("%s: %q: file id %d, theirs %d", w.oracle, p, o.id, t.id)
	}
	if w.streams && o.typ != 'l' {
		compareStreams(c, p, o, t, w)
	}
	if w.attrs != 0 && o.typ != 'l' && o.attrs&w.attrs != t.attrs&w.attrs {
		c.errorf("%s: %q: attributes %#x, theirs %#x", w.oracle, p, o.attrs&w.attrs, t.attrs&w.attrs)
	}
	if w.alloc && o.typ == 'f' && o.alloc >= 0 && t.alloc >= 0 && o.alloc != t.alloc {
		c.errorf("%s: %q: %d bytes allocated (data extents), theirs %d", w.oracle, p, o.alloc, t.alloc)
	}
}

// ntfs3gUnsupportedLink reports ntfs-3g's own limit: a relative
// IO_REPARSE_TAG_SYMLINK (flag 1) whose target has a backslash it shows
// as a link to "unsupported reparse tag 0xa000000c" in the link's folder.
// Windows follows it relative to the link (as guest.RewriteLink's rule 4
// does); libfsntfs' fsntfsinfo shows the stored target.
func ntfs3gUnsupportedLink(w what, t *entry) bool {
	return w.oracle == "ntfs-3g" && strings.HasSuffix(t.target, "unsupported reparse tag 0xa000000c")
}

// unix32 is where sleuthkit's times end: it keeps seconds since 1970 in
// 32 bits unsigned (istat shows an NTFS time of 1880 as 2084).
var unix32 = time.Unix(1<<32, 0)

var mtoolsLeap = time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC)

// sameTime compares two mtimes at w's precision.
func sameTime(w what, o, t time.Time) bool {
	switch {
	case w.oracle == "sleuthkit" && (o.Unix() < 0 || !o.Before(unix32)):
		return true // not representable there: see unix32
	case w.oracle == "ntfs-3g" && o.Unix() < 0:
		// ntfs-3g divides the time before 1970 toward zero and drops the
		// fraction: 1880-12-11 09:42:04.8686843 shows as 09:42:05.
		// istat shows the same .8686843 fraction as we do.
		return o.Add(time.Second - 1).Truncate(time.Second).Equal(t)
	case w.oracle == "mtools" && !o.Before(mtoolsLeap):
		// mcopy -m turns a FAT date after February 2100 into a time one
		// day late (it counts 2100 as a leap year): mdir lists the
		// entry's own date, 2101-01-10, where the copy gets 2101-01-11.
		o = o.Add(24 * time.Hour)
	case w.oracle == "exfat-fuse" && !o.Before(mtoolsLeap):
		// exfat-fuse counts 2100 as a leap year both ways: asked for
		// 2101-02-20 (exfat seed 4, lower12.txt/entry-02215-...) it
		// stores 2101-02-19 in the entry, which we decode field by field
		// as Windows does, and shows it back as 2101-02-20.
		o = o.Add(24 * time.Hour)
	}
	return o.Truncate(w.mtime).Equal(t.Truncate(w.mtime))
}

func compareStreams(c *checker, p string, o, t *entry, w what) {
	names := map[string]bool{}
	for s := range o.streams {
		names[s] = true
	}
	for s := range t.streams {
		names[s] = true
	}
	for _, s := range sortedKeys(names) {
		a, inOurs := o.streams[s]
		b, inTheirs := t.streams[s]
		switch {
		case !inOurs:
			c.errorf("%s: %q: stream %q missing from ours", w.oracle, p, s)
		case !inTheirs:
			c.errorf("%s: %q: stream %q not there", w.oracle, p, s)
		case a != b:
			c.errorf("%s: %q: stream %q content differs", w.oracle, p, s)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
