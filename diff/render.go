package diff

import (
	"fmt"
	"io"
	"strings"

	"github.com/dustin/go-humanize"

	"github.com/ckptfs/ckptfs/internal/names"
)

// changeMark is the one-letter column of the text rendering.
var changeMark = map[Change]string{Added: "+", Removed: "-", Modified: "M", Renamed: "R"}

// WriteText renders a Result for people: one line per range and per file
// change, sizes humanized, then the notes and a summary line.
func WriteText(w io.Writer, r *Result) error {
	var b strings.Builder
	// Names are guest data: escaped, so none forges a line or reaches
	// the terminal as an escape sequence (--json needs no such care).
	esc := names.Escape
	fmt.Fprintf(&b, "diff %s → %s\n", esc(r.From), esc(r.To))
	var bytes int64
	for _, rg := range r.Ranges {
		bytes += rg.Length
		fmt.Fprintf(&b, "  range %s 0x%010x +%-9s %s\n", esc(rg.Disk), rg.Offset, humanize.IBytes(uint64(rg.Length)), esc(rg.Layer))
	}
	counts := map[Change]int{}
	for _, f := range r.Files {
		counts[f.Change]++
		b.WriteString("  " + changeMark[f.Change] + " " + esc(f.Path))
		if f.Change == Renamed {
			b.WriteString(" ← " + esc(f.From))
		}
		if len(f.What) > 0 {
			b.WriteString(" (" + strings.Join(f.What, ", ") + ")")
		}
		b.WriteString(sizeText(f))
		b.WriteByte('\n')
	}
	for _, n := range r.Notes {
		b.WriteString("  note: " + esc(n) + "\n")
	}
	if r.Ranges != nil { // nil: ranges were not asked for
		fmt.Fprintf(&b, "%d ranges (%s)", len(r.Ranges), humanize.IBytes(uint64(bytes)))
		if r.Files != nil {
			b.WriteString(", ")
		}
	}
	if r.Files != nil {
		fmt.Fprintf(&b, "%d added, %d removed, %d modified, %d renamed",
			counts[Added], counts[Removed], counts[Modified], counts[Renamed])
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// sizeText says which size is which: "size 4 KiB" for an added file,
// "was 4 KiB" for a removed one, "size 4 KiB → 6 KiB" when it changed.
func sizeText(f FileChange) string {
	switch {
	case f.SizeBefore == nil && f.SizeAfter != nil && *f.SizeAfter > 0:
		return "; size " + humanize.IBytes(uint64(*f.SizeAfter))
	case f.SizeAfter == nil && f.SizeBefore != nil && *f.SizeBefore > 0:
		return "; was " + humanize.IBytes(uint64(*f.SizeBefore))
	case f.SizeBefore != nil && f.SizeAfter != nil && *f.SizeBefore != *f.SizeAfter:
		return "; size " + humanize.IBytes(uint64(*f.SizeBefore)) + " → " + humanize.IBytes(uint64(*f.SizeAfter))
	case f.SizeAfter != nil && *f.SizeAfter > 0:
		return "; size " + humanize.IBytes(uint64(*f.SizeAfter))
	}
	return ""
}

// Empty reports whether the result shows no change at all.
func (r *Result) Empty() bool { return len(r.Ranges) == 0 && len(r.Files) == 0 }
