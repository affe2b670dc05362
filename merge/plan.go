// Package merge deletes a checkpoint the way Hyper-V does: the checkpoint's
// differencing disk is folded into its only child disk, which is then
// linked to the folded disk's parent (or, when the folded disk was the
// base, becomes a dynamic disk itself), and the folded file is removed.
// Every other checkpoint reads the same bytes afterwards.
//
// The work is crash-safe and resumable: a small journal next to the child
// says what is under way; data goes only where the child's metadata does
// not point yet; the metadata changes through the VHDX log
// (vhdx.Update); the folded file is removed only after the child is
// durable. Running the same merge again after a crash finishes it.
package merge

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/vhdx"
)

// Sentinel errors; every refusal wraps ErrRefused, every lock conflict ErrLocked.
var (
	// ErrRefused means the merge would lose or change content another
	// checkpoint needs, or the chain has a shape a merge cannot handle.
	ErrRefused = errors.New("merge: refused")
	// ErrLocked means a file the merge would change is in use (a mount
	// holds a shared lock on it).
	ErrLocked = errors.New("merge: file in use")
)

// Plan is what deleting one checkpoint will do, one Step per disk (or per
// checkpoint folded, for a subtree). Build it with New or NewSubtree, show
// it with Describe, carry it out with Execute.
type Plan struct {
	VM         string
	Checkpoint string
	Subtree    bool
	Steps      []*Step
	// BatchPages bounds the metadata pages changed per logged commit;
	// 0 means as many as the child's log holds. Smaller batches mean more,
	// shorter commits (tests use it to have many crash points).
	BatchPages int
	// Notes say what the user must do afterwards (VM configuration).
	Notes []string

	// group: the steps fold the disks of one checkpoint and are
	// journaled together before the first begins (see together.go).
	group bool
}

// Step folds one disk file into its only child, or (Fold false) deletes
// a disk file no surviving checkpoint reads.
type Step struct {
	Disk   string // the disk's name in the VM (Disk0, ...)
	Remove string // the file that goes away
	// Fold: Into absorbs Remove's sectors and is re-linked to NewParent
	// ("" when Remove was the base: Into becomes a dynamic disk).
	Fold      bool
	Into      string
	NewParent string
	// CopyBytes is what will be written (sectors taken from Remove into
	// Into, or with Absorb from Into into Remove; zeros included).
	CopyBytes int64
	// Absorb folds the other way: Into's own sectors are copied into
	// Remove, which then takes Into's identity and replaces Into's file
	// (see absorb.go). Chosen when it writes less and is safe.
	Absorb bool
	// FoldBytes and AbsorbBytes are what each direction would write
	// (AbsorbBytes is 0 when that direction was not considered); Why says
	// why the direction was chosen, for Describe.
	FoldBytes, AbsorbBytes int64
	Why                    string
	// Resume is set when a journal says this step was interrupted.
	Resume bool

	journal *journal // read from disk (Resume) or to be written (Absorb)
}

// files is the disk-file tree as the catalog's chains show it.
type files struct {
	parent   map[string]string
	children map[string][]string
	disk     map[string]*vhdx.Disk
	chain    map[string]*vhdx.Chain // chain whose top is the file
	users    map[string][]*catalog.Checkpoint
	vmOf     map[*catalog.Checkpoint]*catalog.VM
	vms      int
}

// who names a checkpoint in a refusal: with its VM when there are
// several, since a shared base disk is a checkpoint of each VM built on it.
func (f *files) who(cp *catalog.Checkpoint) string {
	if vm := f.vmOf[cp]; vm != nil && f.vms > 1 {
		return fmt.Sprintf("%q of VM %q", cp.Name, vm.Name)
	}
	return fmt.Sprintf("%q", cp.Name)
}

func treeOf(cat *catalog.Catalog) *files {
	f := &files{parent: map[string]string{}, children: map[string][]string{}, disk: map[string]*vhdx.Disk{},
		chain: map[string]*vhdx.Chain{}, users: map[string][]*catalog.Checkpoint{},
		vmOf: map[*catalog.Checkpoint]*catalog.VM{}, vms: len(cat.VMs)}
	for _, vm := range cat.VMs {
		for _, cp := range vm.Checkpoints {
			f.vmOf[cp] = vm
			for _, d := range cp.Disks {
				top := clean(d.File)
				f.users[top] = append(f.users[top], cp)
				if d.Chain == nil {
					continue
				}
				f.chain[top] = d.Chain
				for i, l := range d.Chain.Layers {
					name := clean(l.Name)
					f.disk[name] = l
					if i+1 < len(d.Chain.Layers) {
						p := clean(d.Chain.Layers[i+1].Name)
						if _, seen := f.parent[name]; !seen {
							f.parent[name] = p
							f.children[p] = append(f.children[p], name)
						}
					}
				}
			}
		}
	}
	return f
}

func clean(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// New plans the deletion of the checkpoint name names (see catalog.Find).
// It refuses (ErrRefused, with the reason) when the checkpoint is the live
// state, when its disk has no child or several, when another checkpoint
// reads the file that would go away, or when the files are not VHDX.
// An interrupted merge of the same checkpoint is planned as its resumption.
func New(cat *catalog.Catalog, name string) (*Plan, error) {
	vm, cp, err := cat.Find(name)
	if err != nil {
		if j := findJournalByStem(cat, name); j != nil {
			if len(j.Together) > 0 {
				return resumeGroup(cat, nil, j)
			}
			return resumeOnly(j), nil
		}
		return nil, err
	}
	if j, err := groupJournal(cp); err != nil || j != nil {
		if err != nil {
			return nil, err
		}
		return resumeGroup(cat, vm, j)
	}
	tree := treeOf(cat)
	p := &Plan{VM: vm.Name, Checkpoint: cp.Name}
	for _, d := range cp.Disks {
		st, err := planDisk(tree, cp, d)
		if err != nil {
			return nil, err
		}
		p.Steps = append(p.Steps, st)
	}
	p.together()
	if err := refusePending(cat, p); err != nil {
		return nil, err
	}
	p.notes(vm)
	return p, nil
}

func planDisk(tree *files, cp *catalog.Checkpoint, d *catalog.Disk) (*Step, error) {
	file := clean(d.File)
	if j, err := readJournal(file); err == nil {
		return stepOf(j, d.Name), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if cp.Live {
		return nil, fmt.Errorf("%w: %q is the live state of the VM; only checkpoints can be deleted", ErrRefused, cp.Name)
	}
	for _, other := range tree.users[file] {
		if other != cp {
			return nil, fmt.Errorf("%w: %s is also the disk of checkpoint %s, which would lose its content", ErrRefused, file, tree.who(other))
		}
	}
	kids := tree.children[file]
	switch len(kids) {
	case 0:
		return nil, fmt.Errorf("%w: %s has no child disk to fold into (nothing depends on it; delete it by hand if it is not needed)", ErrRefused, file)
	case 1:
	default:
		return nil, fmt.Errorf("%w: %s has %d child disks (%s); folding it into one would change the others' content", ErrRefused, file, len(kids), baseNames(kids))
	}
	into := kids[0]
	if err := vhdxOnly(tree, file, into); err != nil {
		return nil, err
	}
	st := &Step{Disk: d.Name, Remove: file, Fold: true, Into: into, NewParent: tree.parent[file]}
	c := tree.chain[into]
	if c == nil {
		return nil, fmt.Errorf("%w: no chain of %s was opened", ErrRefused, into)
	}
	if err := vhdx.UpdateSupported(tree.disk[into]); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	n, err := copyBytes(c, tree.disk[into].BlockSize)
	if err != nil {
		return nil, err
	}
	st.CopyBytes, st.FoldBytes = n, n
	if err := chooseDirection(tree, st, c); err != nil {
		return nil, err
	}
	return st, nil
}

func vhdxOnly(tree *files, names ...string) error {
	for _, n := range names {
		if d := tree.disk[n]; d == nil || d.Format != vhdx.FormatVHDX {
			return fmt.Errorf("%w: %s is not a VHDX file; only VHDX chains can be merged in place", ErrRefused, n)
		}
	}
	return nil
}

func baseNames(ps []string) string {
	var out []string
	for _, p := range ps {
		out = append(out, filepath.Base(p))
	}
	return strings.Join(out, ", ")
}

func (p *Plan) notes(vm *catalog.VM) {
	if vm.Config != "" {
		p.Notes = append(p.Notes, fmt.Sprintf("The VM configuration %s is not changed: it still lists the deleted checkpoint. "+
			"Hyper-V will not see the new chain until the VM is re-created over the remaining disks (or the checkpoint is removed from its configuration).", vm.Config))
	}
	for _, s := range p.Steps {
		if s.Fold && s.NewParent == "" {
			p.Notes = append(p.Notes, fmt.Sprintf("%s is now a base disk; a VM that used %s as its disk must be pointed at %s.", s.Into, s.Remove, s.Into))
		}
	}
}
