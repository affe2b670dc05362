package catalog

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// Rules for building the checkpoint tree, shared by the mount and the CLI:
//
// With configuration, each VM configuration (.vmcx, or .xml of Hyper-V
// 2008–2012 R2) is one VM named as in the file. Each checkpoint
// configuration (Snapshots/<GUID>.vmcx|.xml) of that VM is one checkpoint
// with its own name, id and creation time; the VM's own configuration is
// the live state "Now" (id "Now"). A configured disk path is matched to the
// scanned disk files by file name, nearest folder first. A checkpoint's
// parent is the one its configuration names, else the checkpoint whose
// disk file is the nearest ancestor of its own in the disk tree.
//
// Disks are named "Disk0", "Disk1", … by their position among the VM's
// hard disks in controller order (IDE channels, then SCSI controllers;
// drive number within each), so a disk keeps its name in every checkpoint.
// Without configuration a VM has one disk, "Disk0".
//
// Without configuration (or for disk files no configuration names), every
// disk file is one checkpoint named and identified by its file stem,
// created at the file's modification time (when it was last written, which
// for a frozen disk is when its checkpoint was taken). Each disk tree is
// one VM named and identified by its base disk's stem; its leaf is also
// the live state "Now", or "Now-<stem>" for each leaf when the tree has
// several. Files no configuration names, in a tree a configuration does
// name, become checkpoints of that VM by the same stem rule.

const liveName = "Now"

type builder struct {
	f     *forest
	cat   *Catalog
	owner map[*diskFile]*VM // tree root → configured VM using that tree
	used  map[*diskFile]bool
	topOf map[*VM]map[*diskFile]*Checkpoint // non-live checkpoints by disk file
}

func (b *builder) init() {
	if b.used == nil {
		b.used = map[*diskFile]bool{}
		b.topOf = map[*VM]map[*diskFile]*Checkpoint{}
	}
}

func (b *builder) warn(format string, args ...any) {
	b.cat.Warnings = append(b.cat.Warnings, fmt.Sprintf(format, args...))
}

// withConfig builds one VM per VM configuration that names a disk found.
func (b *builder) withConfig(cfgs []*VMConfig) error {
	b.init()
	var vmCfgs, snaps []*VMConfig
	for _, c := range cfgs {
		if c.IsSnapshot {
			snaps = append(snaps, c)
		} else {
			vmCfgs = append(vmCfgs, c)
		}
	}
	bySnap := map[*VMConfig][]*VMConfig{}
	for _, s := range snaps {
		if v := ownerConfig(s, vmCfgs); v != nil {
			bySnap[v] = append(bySnap[v], s)
		} else {
			b.warn("%s: checkpoint %q of no VM configuration found (VM id %q)", s.File, s.Name, s.ID)
		}
	}
	for _, vc := range vmCfgs {
		if err := b.configuredVM(vc, bySnap[vc]); err != nil {
			return err
		}
	}
	return nil
}

// ownerConfig finds the VM configuration of a checkpoint configuration:
// same VM id, nearest folder first (backups may hold several copies of a
// VM). A checkpoint whose VM id is unknown goes to the nearest VM.
func ownerConfig(s *VMConfig, vms []*VMConfig) *VMConfig {
	var best *VMConfig
	bestScore := -1
	for _, v := range vms {
		if s.ID != "" && !strings.EqualFold(s.ID, v.ID) {
			continue
		}
		if score := commonPrefix(filepath.Dir(s.File), filepath.Dir(v.File)); score > bestScore {
			best, bestScore = v, score
		}
	}
	return best
}

func (b *builder) configuredVM(vc *VMConfig, snaps []*VMConfig) error {
	vm := &VM{Name: firstNonEmpty(vc.Name, vc.ID, stem(vc.File)), ID: firstNonEmpty(vc.ID, stem(vc.File)), Config: vc.File}
	b.topOf[vm] = map[*diskFile]*Checkpoint{}
	type pending struct {
		cp       *Checkpoint
		parentID string
	}
	var all []pending
	for _, s := range snaps {
		cp := &Checkpoint{Name: firstNonEmpty(s.Name, s.SnapshotID, stem(s.File)), ID: firstNonEmpty(s.SnapshotID, stem(s.File)), Created: s.Created}
		if err := b.configDisks(vm, cp, s); err != nil {
			return err
		}
		all = append(all, pending{cp, s.ParentSnapshotID})
	}
	live := &Checkpoint{Name: liveName, ID: liveName, Live: true}
	if err := b.configDisks(vm, live, vc); err != nil {
		return err
	}
	all = append(all, pending{live, vc.ParentSnapshotID})
	byID := map[string]*Checkpoint{}
	for _, p := range all {
		if len(p.cp.Disks) > 0 {
			vm.Checkpoints = append(vm.Checkpoints, p.cp)
			byID[strings.ToUpper(p.cp.ID)] = p.cp
		}
	}
	if len(vm.Checkpoints) == 0 {
		b.warn("%s: VM %q: none of its disks is in the source", vc.File, vm.Name)
		return nil
	}
	for _, p := range all {
		if len(p.cp.Disks) == 0 {
			continue
		}
		if par := byID[strings.ToUpper(p.parentID)]; par != nil && par != p.cp {
			p.cp.Parent = par
		} else {
			p.cp.Parent = b.inferParent(vm, p.cp)
		}
	}
	b.cat.VMs = append(b.cat.VMs, vm)
	return nil
}

// configDisks resolves the disks a configuration names.
func (b *builder) configDisks(vm *VM, cp *Checkpoint, c *VMConfig) error {
	for i, a := range c.Disks {
		df := b.lookup(c.File, a.Path)
		if df == nil {
			b.warn("%s: disk %s not found in the source", c.File, a.Path)
			continue
		}
		if err := b.addDisk(vm, cp, fmt.Sprintf("Disk%d", i), df); err != nil {
			return err
		}
		b.owner[df.root()] = vm
	}
	return nil
}

func (b *builder) addDisk(vm *VM, cp *Checkpoint, name string, df *diskFile) error {
	ch, err := b.f.chainOf(df)
	if err != nil {
		return err
	}
	cp.Disks = append(cp.Disks, &Disk{Name: name, File: df.path, Chain: ch})
	b.used[df] = true
	if !cp.Live && len(cp.Disks) == 1 {
		b.topOf[vm][df] = cp
	}
	return nil
}

// lookup finds a configured disk among the scanned files by file name,
// nearest to the configuration file first. The host's absolute path is
// never used as is: it names the Windows host's folders.
func (b *builder) lookup(cfgFile, winPath string) *diskFile {
	name := strings.ToLower(winBase(winPath))
	var best *diskFile
	bestScore := -1
	for _, d := range b.f.byBase[name] {
		if score := commonPrefix(filepath.Dir(d.path), filepath.Dir(cfgFile)); score > bestScore {
			best, bestScore = d, score
		}
	}
	return best
}

// inferParent returns the checkpoint of vm whose first disk file is the
// nearest ancestor of cp's (a live state may sit on a checkpoint's own
// file; a checkpoint may not).
func (b *builder) inferParent(vm *VM, cp *Checkpoint) *Checkpoint {
	if len(cp.Disks) == 0 {
		return nil
	}
	df := b.f.byPath[cp.Disks[0].File]
	if df == nil {
		return nil
	}
	start := df.parent
	if cp.Live {
		start = df
	}
	for p := start; p != nil; p = p.parent {
		if c := b.topOf[vm][p]; c != nil && c != cp {
			return c
		}
	}
	return nil
}

// rest applies the disk-tree rule to every file no configuration named.
func (b *builder) rest() error {
	b.init()
	for _, root := range b.f.roots() {
		vm := b.owner[root]
		configured := vm != nil
		if !configured {
			vm = &VM{Name: stem(root.path), ID: stem(root.path)}
			b.topOf[vm] = map[*diskFile]*Checkpoint{}
		}
		leaves := 0
		err := walkTree(root, func(d *diskFile) error {
			if len(d.children) == 0 {
				leaves++
			}
			if b.used[d] {
				return nil
			}
			cp := &Checkpoint{Name: stem(d.path), ID: stem(d.path), Created: d.mtime}
			if err := b.addDisk(vm, cp, "Disk0", d); err != nil {
				return err
			}
			cp.Parent = b.inferParent(vm, cp)
			vm.Checkpoints = append(vm.Checkpoints, cp)
			return nil
		})
		if err != nil {
			return err
		}
		if !configured {
			if err := b.addNow(vm, root, leaves); err != nil {
				return err
			}
			b.cat.VMs = append(b.cat.VMs, vm)
		}
	}
	for _, vm := range b.cat.VMs {
		if vm.Config != "" {
			// Stem checkpoints were added after the configured ones had
			// their parents inferred; give them a second look.
			for _, cp := range vm.Checkpoints {
				if cp.Parent == nil {
					cp.Parent = b.inferParent(vm, cp)
				}
			}
		}
		if orderCheckpoints(vm) {
			b.warn("VM %q: checkpoint parents form a loop; cut", vm.Name)
		}
	}
	return nil
}

// addNow adds the live state on each leaf of a configuration-less tree.
func (b *builder) addNow(vm *VM, root *diskFile, leaves int) error {
	return walkTree(root, func(d *diskFile) error {
		if len(d.children) != 0 {
			return nil
		}
		name := liveName
		if leaves > 1 {
			name = liveName + "-" + stem(d.path)
		}
		cp := &Checkpoint{Name: name, ID: name, Live: true, Created: d.mtime, Parent: b.topOf[vm][d]}
		if err := b.addDisk(vm, cp, "Disk0", d); err != nil {
			return err
		}
		vm.Checkpoints = append(vm.Checkpoints, cp)
		return nil
	})
}

// walkTree visits a disk tree parents first, siblings by modification
// time then name. The forest has no loops (checked when linking), and
// depth is bounded by an explicit stack.
func walkTree(root *diskFile, fn func(*diskFile) error) error {
	stack := []*diskFile{root}
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if err := fn(d); err != nil {
			return err
		}
		kids := append([]*diskFile(nil), d.children...)
		sort.Slice(kids, func(i, j int) bool {
			if !kids[i].mtime.Equal(kids[j].mtime) {
				return kids[i].mtime.After(kids[j].mtime) // reversed: stack
			}
			return kids[i].path > kids[j].path
		})
		stack = append(stack, kids...)
	}
	return nil
}
