package merge

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ckptfs/ckptfs/catalog"
)

// journal records a fold under way, next to the file that goes away, so
// a merge run again after a crash knows what it was doing even when the
// catalog no longer shows the folded file as part of the chain. Its format
// belongs to package catalog, which shows every command a pending merge.
//
// Direction "absorb" (see absorb.go) adds what the rerun cannot read from
// the files once they changed: the child's identity, which the folded
// file takes over, and how far the work got (State).
type journal = catalog.MergeJournal

const (
	dirAbsorb     = catalog.MergeAbsorb
	stateCopied   = catalog.MergeCopied
	journalSuffix = ".ckptfs-merge"
)

// journalPath names the journal of the fold that removes file.
func journalPath(file string) string { return catalog.MergeJournalPath(file) }

func readJournal(file string) (*journal, error) {
	b, err := os.ReadFile(journalPath(file))
	if err != nil {
		return nil, err
	}
	j, err := parseJournal(b)
	if err == nil && clean(j.Remove) != clean(file) {
		// A rerun removes and renames files on the journal's word: it
		// must speak of the file it sits next to.
		err = fmt.Errorf("%w: it names %s", errJournal, j.Remove)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: merge journal %s is damaged (%v); inspect the files named in it by hand", ErrRefused, journalPath(file), err)
	}
	return j, nil
}

var (
	errJournal   = catalog.ErrJournal
	parseJournal = catalog.ParseMergeJournal
)

func stepOf(j *journal, disk string) *Step {
	if disk == "" {
		disk = j.Disk
	}
	return &Step{Disk: disk, Remove: j.Remove, Fold: true, Into: j.Into, NewParent: j.NewParent, Resume: true,
		Absorb: j.Direction == dirAbsorb, journal: j}
}

// writeJournal makes the journal durable before anything else changes.
func writeJournal(j *journal) error {
	j.Version = 1
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	p := journalPath(j.Remove)
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing merge journal: %w", err)
	}
	return syncDir(filepath.Dir(p))
}

func removeJournal(file string) error {
	if err := os.Remove(journalPath(file)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return syncDir(filepath.Dir(file))
}

// journalsIn lists the journals in the folders of the catalog's files.
func journalsIn(cat *catalog.Catalog) []*journal {
	dirs := map[string]bool{}
	for _, vm := range cat.VMs {
		for _, cp := range vm.Checkpoints {
			for _, d := range cp.Disks {
				dirs[filepath.Dir(clean(d.File))] = true
			}
		}
	}
	var out []*journal
	for dir := range dirs {
		ms, _ := filepath.Glob(filepath.Join(dir, ".*"+journalSuffix))
		for _, m := range ms {
			name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "."), journalSuffix)
			if j, err := readJournal(filepath.Join(dir, name)); err == nil {
				out = append(out, j)
			}
		}
	}
	return out
}

// findJournalByStem finds the journal of a fold whose removed file has
// the stem name, or of a merge over several disks of the checkpoint name:
// the checkpoint is gone from the catalog once its file is, but the
// journal still asks to be cleared.
func findJournalByStem(cat *catalog.Catalog, name string) *journal {
	for _, j := range journalsIn(cat) {
		base := filepath.Base(j.Remove)
		if strings.EqualFold(strings.TrimSuffix(base, filepath.Ext(base)), name) || j.Checkpoint != "" && j.Checkpoint == name {
			return j
		}
	}
	return nil
}

func resumeOnly(j *journal) *Plan {
	base := filepath.Base(j.Remove)
	return &Plan{Checkpoint: strings.TrimSuffix(base, filepath.Ext(base)), Steps: []*Step{stepOf(j, "")}}
}

// refusePending refuses a new merge while another one is unfinished.
func refusePending(cat *catalog.Catalog, p *Plan) error {
	planned := map[string]bool{}
	for _, s := range p.Steps {
		planned[s.Remove] = true
	}
	for _, j := range journalsIn(cat) {
		if !planned[j.Remove] {
			base := filepath.Base(j.Remove)
			name := strings.TrimSuffix(base, filepath.Ext(base))
			if j.Checkpoint != "" {
				name = j.Checkpoint
			}
			return fmt.Errorf("%w: the merge of %s was interrupted; run the merge of %q again first to finish it",
				ErrRefused, j.Remove, name)
		}
	}
	return nil
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
