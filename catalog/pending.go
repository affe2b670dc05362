package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ckptfs/ckptfs/vhdx"
)

// A merge (package merge) keeps a journal next to the file it removes
// until it is done. A merge that was killed leaves the journal, and files
// half way between the old chain and the new one: every command must see
// that. While a journal is pending:
//
//   - the checkpoint being deleted is listed as before, marked Merging. In
//     the usual direction ("fold": the child takes the removed file's
//     sectors) the removed file is never written, so it still reads its
//     old content and stays readable. In the other direction ("absorb":
//     the removed file takes the child's sectors, identity and place) its
//     content is overwritten from the first step: reading it is refused
//     (Disk.Err), since it would show the next checkpoint's bytes;
//   - the tree keeps its shape: once a fold re-links the child to the
//     removed file's parent, the child is still placed under the removed
//     file (its chain is the real, new one, which reads the same), so the
//     live state stays "Now" and the removed file does not become a leaf;
//   - Catalog.Pending lists the merge and a warning names the command that
//     completes it (a merge run again finishes it; there is no roll back).

// MergeJournal is a merge journal as package merge writes it: the file a
// fold removes, the file that takes its content, and how far the work got.
type MergeJournal struct {
	Version   int    `json:"version"`
	Disk      string `json:"disk"`
	Remove    string `json:"remove"`
	Into      string `json:"into"`
	NewParent string `json:"new_parent"`
	Direction string `json:"direction,omitempty"` // "" (fold) or MergeAbsorb
	State     string `json:"state,omitempty"`     // absorb: "" (copying) or MergeCopied
	IntoID    string `json:"into_data_write_guid,omitempty"`
	IntoDisk  string `json:"into_disk_id,omitempty"`
	// A checkpoint over several disks is deleted by one fold per disk,
	// and every fold's journal is written before any of them starts:
	// Checkpoint names the checkpoint as `ckptfs merge` takes it (its
	// files' stems are no longer all in the catalog once one fold is
	// done) and Together lists the file each fold removes, this one
	// among them, relative to this journal's folder. A fold listed
	// there with no journal left is done (its file is gone) or not
	// begun (its file is still there).
	Checkpoint string   `json:"checkpoint,omitempty"`
	Together   []string `json:"together,omitempty"`
}

// Merge journal values.
const (
	MergeAbsorb = "absorb"
	MergeCopied = "copied"
	// mergeJournalSuffix ends a journal's name: ".<removed file>.ckptfs-merge".
	mergeJournalSuffix = ".ckptfs-merge"
	maxJournalSize     = 64 << 10
	// maxTogether bounds a journal's list of folds done together (a VM
	// has at most 256 disks: 4 SCSI controllers of 64, plus IDE).
	maxTogether = 260
)

// ErrJournal means a merge journal is damaged.
var ErrJournal = errors.New("catalog: not a merge journal")

// ErrMerging means a checkpoint cannot be read because an interrupted
// merge is deleting it.
var ErrMerging = errors.New("catalog: checkpoint being merged")

// MergeJournalPath names the journal of the merge that removes file.
func MergeJournalPath(file string) string {
	return filepath.Join(filepath.Dir(file), "."+filepath.Base(file)+mergeJournalSuffix)
}

// ParseMergeJournal decodes and checks a journal: a rerun acts on its
// word, so it must be complete.
func ParseMergeJournal(b []byte) (*MergeJournal, error) {
	var j MergeJournal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	switch {
	case j.Version != 1:
		return nil, fmt.Errorf("%w: version %d", ErrJournal, j.Version)
	case j.Remove == "" || j.Into == "":
		return nil, fmt.Errorf("%w: no files named", ErrJournal)
	case j.Direction != "" && j.Direction != MergeAbsorb:
		return nil, fmt.Errorf("%w: direction %q", ErrJournal, j.Direction)
	case j.State != "" && j.State != MergeCopied:
		return nil, fmt.Errorf("%w: state %q", ErrJournal, j.State)
	case len(j.Together) > maxTogether:
		return nil, fmt.Errorf("%w: %d files together", ErrJournal, len(j.Together))
	}
	for _, t := range j.Together {
		if t == "" || filepath.IsAbs(t) {
			return nil, fmt.Errorf("%w: file %q together", ErrJournal, t)
		}
	}
	if j.Direction == MergeAbsorb {
		if _, err := vhdx.ParseGUID(j.IntoID); err != nil {
			return nil, fmt.Errorf("%w: child identity %q", ErrJournal, j.IntoID)
		}
		if _, err := vhdx.ParseGUID(j.IntoDisk); err != nil {
			return nil, fmt.Errorf("%w: child disk id %q", ErrJournal, j.IntoDisk)
		}
	}
	return &j, nil
}

// PendingMerge is a merge whose journal is still there.
type PendingMerge struct {
	Journal string // the journal file
	// Checkpoint is what `ckptfs merge SRC NAME` takes: the journal's
	// checkpoint, else the stem of the removed file.
	Checkpoint string
	Message    string // the warning that names it and the command completing it
	*MergeJournal
}

// Faults lists the warnings other than pending merges: what a merge must
// not work around (a merge run again is how a pending one completes).
func (c *Catalog) Faults() []string {
	pending := map[string]bool{}
	for _, p := range c.Pending {
		pending[p.Message] = true
	}
	var out []string
	for _, w := range c.Warnings {
		if !pending[w] {
			out = append(out, w)
		}
	}
	return out
}

// Absorb reports the direction in which the removed file's own content
// is overwritten.
func (p *PendingMerge) Absorb() bool { return p.Direction == MergeAbsorb }

// Command is the command line that completes the merge.
func (p *PendingMerge) Command(src string) string {
	return fmt.Sprintf("ckptfs merge %s %s", shellQuote(src), shellQuote(p.Checkpoint))
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./+,:=@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// findJournals reads the merge journals in the folders of the forest's
// files. A damaged journal is a warning: it stops nothing but a merge.
func (f *forest) findJournals() []*PendingMerge {
	seen := map[string]bool{}
	var out []*PendingMerge
	for _, d := range f.files {
		dir := f.src.Dir(d.path)
		if seen[dir] {
			continue
		}
		seen[dir] = true
		ents, _ := f.src.ReadDir(dir)
		for _, e := range ents {
			base := filepath.Base(e.Name)
			if e.IsDir || !strings.HasPrefix(base, ".") || !strings.HasSuffix(base, mergeJournalSuffix) {
				continue
			}
			if p, err := f.readJournal(e); err != nil {
				f.warnings = append(f.warnings, fmt.Sprintf("merge journal %s: %v; no merge can run until it is inspected by hand", e.Name, err))
			} else {
				out = append(out, p)
			}
		}
	}
	return out
}

func (f *forest) readJournal(e FileInfo) (*PendingMerge, error) {
	if !e.Usable || e.Size > maxJournalSize {
		return nil, fmt.Errorf("%w: %s of %d bytes", ErrJournal, e.Kind, e.Size)
	}
	r, err := f.src.Open(e.Name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b := make([]byte, min(r.Size(), maxJournalSize))
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, err
	}
	j, err := ParseMergeJournal(b)
	if err != nil {
		return nil, err
	}
	removed := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(e.Name), "."), mergeJournalSuffix)
	if filepath.Base(j.Remove) != removed {
		return nil, fmt.Errorf("%w: it names %s", ErrJournal, j.Remove)
	}
	// The journal's paths are those of the machine that ran the merge;
	// the files are the ones next to the journal.
	dir := f.src.Dir(e.Name)
	j.Remove = f.src.Join(dir, removed)
	j.Into = f.src.Join(dir, filepath.Base(j.Into))
	stem := strings.TrimSuffix(removed, filepath.Ext(removed))
	if j.Checkpoint != "" {
		stem = j.Checkpoint
	}
	return &PendingMerge{Journal: e.Name, Checkpoint: stem, MergeJournal: j}, nil
}

// applyJournals marks the files pending merges remove and keeps the
// tree's shape (see the comment at the top).
func (f *forest) applyJournals(src string) []*PendingMerge {
	pending := f.findJournals()
	for _, p := range pending {
		how := "it reads its old content until then"
		if p.Absorb() {
			how = "its content is being replaced, so it cannot be read"
		}
		rm := f.byPath[p.Remove]
		if rm == nil {
			how = "its file is already gone"
		}
		p.Message = fmt.Sprintf("a merge deleting checkpoint %q was interrupted (journal %s): %s; run `%s` to complete it",
			p.Checkpoint, p.Journal, how, p.Command(src))
		f.warnings = append(f.warnings, p.Message)
		if rm == nil {
			continue
		}
		rm.merging = p
		if into := f.byPath[p.Into]; into != nil && !p.Absorb() {
			f.keepShape(rm, into)
		}
	}
	return pending
}

// keepShape places into under rm in the tree when a fold re-linked it
// already, unless that would make a loop.
func (f *forest) keepShape(rm, into *diskFile) {
	if into.parent == rm || into.reparented {
		return
	}
	for p := rm; p != nil; p = p.parent {
		if p == into {
			return
		}
	}
	into.chainParent, into.reparented = into.parent, true
	if old := into.parent; old != nil {
		kids := old.children[:0]
		for _, c := range old.children {
			if c != into {
				kids = append(kids, c)
			}
		}
		old.children = kids
	}
	into.parent = rm
	rm.children = append(rm.children, into)
}

// removedByMerge reports whether a pending merge over several disks lists
// the file of that base name among those it removes (once its own fold
// is done, the file and its journal are gone, the others' remain).
func (b *builder) removedByMerge(base string) bool {
	for _, p := range b.cat.Pending {
		for _, t := range p.Together {
			if strings.EqualFold(filepath.Base(t), base) {
				return true
			}
		}
	}
	return false
}
