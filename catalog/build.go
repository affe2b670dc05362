package catalog

import (
	"fmt"
	"path/filepath"
	"slices"
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
// Without configuration a VM has one disk, "Disk0", unless the disks
// themselves say they belong together (one LVM volume group over them,
// Options.Members): see loose.go.
//
// Without configuration (or for disk files a VM's configuration does not
// name), every disk file is one checkpoint named and identified by its
// file stem, created at the file's modification time (when it was last
// written, which for a frozen disk is when its checkpoint was taken). Each
// disk tree is one VM named and identified by its base disk's stem; its
// leaf is also the live state "Now", or "Now-<stem>" for each leaf when
// the tree has several.
//
// In a tree that configurations do name, a file a configured VM does not
// name but that is an ancestor of a file it does name becomes a stem
// checkpoint of that VM: of every such VM, since lab VMs are often
// differencing disks of one shared base ("golden") disk, which is then a
// checkpoint of each (the same for a differencing file between the base
// and the VMs' disks, or a file another VM's configuration names). Each VM
// gets its own Checkpoint over the shared chain, its parent inferred
// within that VM. A file the VM names itself is not counted as its own
// ancestor: it is already one of its checkpoints or its live state.
//
// A file that no VM names and no VM's named files descend from (a side
// branch nobody uses, such as a checkpoint's leftover disk) goes to one VM:
// the one listing its nearest ancestor; when several list it, the last VM
// configured in that tree when it is among them, else the first. So a
// leftover under one VM's own disk stays with that VM.
//
// A stem checkpoint whose name or id another checkpoint of its VM already
// has (two files with one stem, a file "Now.vhdx") gets " (2)", " (3)", …
// after the stem, parents first, so that each can be found; names from
// configurations are kept as they are.

const liveName = "Now"

type builder struct {
	f     *forest
	cat   *Catalog
	owner map[*diskFile]*VM // tree root → last configured VM naming a file of that tree
	// used holds the disk files each VM lists (as any disk of any of its
	// checkpoints, live states included): a file is listed once per VM
	// but may be listed by several VMs.
	used  map[*VM]map[*diskFile]bool
	topOf map[*VM]map[*diskFile]*Checkpoint // non-live checkpoints by disk file
	stems map[*Checkpoint]bool              // checkpoints named by the stem rule
}

func (b *builder) init() {
	if b.used == nil {
		b.used = map[*VM]map[*diskFile]bool{}
		b.topOf = map[*VM]map[*diskFile]*Checkpoint{}
		b.stems = map[*Checkpoint]bool{}
	}
}

// track readies the per-VM lookups of a new VM.
func (b *builder) track(vm *VM) {
	b.used[vm] = map[*diskFile]bool{}
	b.topOf[vm] = map[*diskFile]*Checkpoint{}
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
	b.track(vm)
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
		if df == nil && b.removedByMerge(winBase(a.Path)) {
			// One fold of an interrupted merge over several disks is
			// done; the pending merge's warning says so.
			continue
		}
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
	d := &Disk{Name: name, File: df.path, Chain: ch}
	if m := df.merging; m != nil {
		cp.Merging = m
		if m.Absorb() {
			d.Chain = nil
			d.Err = fmt.Errorf("%w: %q: an interrupted merge is deleting it by writing the next checkpoint's content into %s; run `%s` to complete it",
				ErrMerging, cp.Name, filepath.Base(df.path), m.Command(b.cat.Source))
		}
	}
	cp.Disks = append(cp.Disks, d)
	b.used[vm][df] = true
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

// rest applies the disk-tree rule to every file a VM's configuration
// does not name.
func (b *builder) rest() error {
	b.init()
	// Taken before any stem checkpoint is added: inTree[root] lists the
	// configured VMs naming a file of that tree, in order; below[vm] the
	// strict ancestors of the files vm's configurations name.
	inTree := map[*diskFile][]*VM{}
	below := map[*VM]map[*diskFile]bool{}
	for _, vm := range b.cat.VMs {
		below[vm] = map[*diskFile]bool{}
		for df := range b.used[vm] {
			if r := df.root(); !slices.Contains(inTree[r], vm) {
				inTree[r] = append(inTree[r], vm)
			}
			for p := df.parent; p != nil && !below[vm][p]; p = p.parent {
				below[vm][p] = true
			}
		}
	}
	var loose []*diskFile
	for _, root := range b.f.roots() {
		if len(inTree[root]) == 0 {
			loose = append(loose, root)
		}
	}
	group := map[*diskFile][]*diskFile{} // first root of a group → the group
	for _, g := range b.looseGroups(loose) {
		group[g[0]] = g
	}
	for _, root := range b.f.roots() {
		vms := inTree[root]
		if len(vms) == 0 {
			var err error
			switch g := group[root]; {
			case g == nil: // a later tree of a group
			case len(g) == 1:
				err = b.unconfiguredTree(root)
			default:
				err = b.groupedVM(g)
			}
			if err != nil {
				return err
			}
			continue
		}
		err := walkTree(root, func(d *diskFile) error {
			var to []*VM
			listed := false
			for _, vm := range vms {
				listed = listed || b.used[vm][d]
				if below[vm][d] && !b.used[vm][d] {
					to = append(to, vm)
				}
			}
			if len(to) == 0 && !listed {
				to = []*VM{b.sideOwner(d, vms)}
			}
			for _, vm := range to {
				if err := b.addStem(vm, d); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
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
		uniqueStems(vm, b.stems)
	}
	return nil
}

// unconfiguredTree makes the VM of a disk tree no configuration names.
func (b *builder) unconfiguredTree(root *diskFile) error {
	vm := &VM{Name: stem(root.path), ID: stem(root.path)}
	b.track(vm)
	leaves := 0
	err := walkTree(root, func(d *diskFile) error {
		if len(d.children) == 0 {
			leaves++
		}
		return b.addStem(vm, d)
	})
	if err != nil {
		return err
	}
	if err := b.addNow(vm, root, leaves); err != nil {
		return err
	}
	b.cat.VMs = append(b.cat.VMs, vm)
	return nil
}

// addStem adds d to vm as a checkpoint named by its file stem.
func (b *builder) addStem(vm *VM, d *diskFile) error {
	cp := &Checkpoint{Name: stem(d.path), ID: stem(d.path), Created: d.mtime}
	if err := b.addDisk(vm, cp, "Disk0", d); err != nil {
		return err
	}
	cp.Parent = b.inferParent(vm, cp)
	vm.Checkpoints = append(vm.Checkpoints, cp)
	b.stems[cp] = true
	return nil
}

// sideOwner picks the one VM of a file no VM names or descends from: the
// VM listing its nearest ancestor (the tree's owner when several do and
// it is one of them, else the first).
func (b *builder) sideOwner(d *diskFile, vms []*VM) *VM {
	owner := b.owner[d.root()]
	for p := d.parent; p != nil; p = p.parent {
		var first *VM
		for _, vm := range vms {
			if !b.used[vm][p] {
				continue
			}
			if vm == owner {
				return vm
			}
			if first == nil {
				first = vm
			}
		}
		if first != nil {
			return first
		}
	}
	return owner
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
