package merge

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ckptfs/ckptfs/catalog"
)

// A checkpoint over several disks (a VM with two disks, or loose disks
// holding one LVM volume group or Windows dynamic disk group, paired by
// the catalog) is deleted by one fold per disk. Done one after the other,
// a crash between them would leave the disks at different states: the
// group's volumes would then read one disk's old state with another's
// new one, and the catalog could no longer pair the loose disks, so the
// merge run again by the same name would find one disk only. So every
// fold's journal is written before the first fold starts, each naming
// the checkpoint and all the files the merge removes (catalog.MergeJournal
// Checkpoint and Together); a merge run again after a crash at any point
// finds the whole set from any one of them and completes every fold:
//
//   - journal there: the fold was under way (or had not begun);
//   - no journal, file gone: the fold is done;
//   - no journal, file there: the crash came while the journals were
//     written, before any fold began: it is planned anew.

// together readies a plan of several folds to journal them as one: each
// step's journal names the checkpoint and every removed file.
func (p *Plan) together() {
	if len(p.Steps) < 2 || p.Subtree {
		return
	}
	for _, s := range p.Steps {
		if !s.Fold {
			return
		}
	}
	p.group = true
}

// journalAll writes the journal of every step that has none yet, each
// listing all the steps' files, before any step changes a file.
func (p *Plan) journalAll(st *steps) error {
	if !p.group {
		return nil
	}
	for _, s := range p.Steps {
		if _, err := os.Stat(journalPath(s.Remove)); err == nil {
			continue
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		j := s.journal
		if j == nil {
			j = &journal{Disk: s.Disk, Remove: s.Remove, Into: s.Into, NewParent: s.NewParent}
			s.journal = j
		}
		j.Checkpoint = p.Checkpoint
		j.Together = nil
		for _, o := range p.Steps {
			rel, err := filepath.Rel(filepath.Dir(s.Remove), o.Remove)
			if err != nil {
				return err
			}
			j.Together = append(j.Together, rel)
		}
		if err := writeJournal(j); err != nil {
			return err
		}
		st.tick("journal")
	}
	return nil
}

// groupJournal returns the journal, among those of cp's disks, of a merge
// over several disks, or nil.
func groupJournal(cp *catalog.Checkpoint) (*journal, error) {
	for _, d := range cp.Disks {
		j, err := readJournal(clean(d.File))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(j.Together) > 0 {
			return j, nil
		}
	}
	return nil, nil
}

// resumeGroup plans the completion of the merge over several disks that
// j is one journal of (see the comment at the top).
func resumeGroup(cat *catalog.Catalog, vm *catalog.VM, j *journal) (*Plan, error) {
	p := &Plan{Checkpoint: j.Checkpoint, group: true}
	if vm != nil {
		p.VM = vm.Name
	}
	tree := treeOf(cat)
	dir := filepath.Dir(clean(j.Remove))
	for _, rel := range j.Together {
		file := clean(filepath.Join(dir, rel))
		pj, err := readJournal(file)
		switch {
		case err == nil:
			p.Steps = append(p.Steps, stepOf(pj, ""))
			continue
		case !errors.Is(err, os.ErrNotExist):
			return nil, err
		}
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			continue // that fold is done
		} else if err != nil {
			return nil, err
		}
		cp, d := checkpointOf(cat, file)
		if cp == nil {
			return nil, fmt.Errorf("%w: the merge of %q was interrupted and must also fold %s, which no checkpoint shows; inspect the files by hand",
				ErrRefused, j.Checkpoint, file)
		}
		st, err := planDisk(tree, cp, d)
		if err != nil {
			return nil, err
		}
		p.Steps = append(p.Steps, st)
	}
	if len(p.Steps) == 0 {
		return nil, fmt.Errorf("%w: the merge of %q lists no file left to fold", ErrRefused, j.Checkpoint)
	}
	if err := refusePending(cat, p); err != nil {
		return nil, err
	}
	if vm != nil {
		p.notes(vm)
	}
	return p, nil
}

// checkpointOf finds the frozen checkpoint whose disk is file.
func checkpointOf(cat *catalog.Catalog, file string) (*catalog.Checkpoint, *catalog.Disk) {
	for _, vm := range cat.VMs {
		for _, cp := range vm.Checkpoints {
			for _, d := range cp.Disks {
				if !cp.Live && clean(d.File) == file {
					return cp, d
				}
			}
		}
	}
	return nil, nil
}
