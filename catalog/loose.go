package catalog

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Loose disks: disk files with no VM configuration, several of one VM (a
// backup of the disks alone, or a folder they were copied to). Without
// configuration each disk tree is a VM of its own, so an LVM volume group
// grown onto a second disk would show its volumes as missing a physical
// volume. What the disks hold says they belong together: the physical
// volumes of one volume group carry its UUID (Options.Members reads them).
//
// Rules:
//   - Only trees in one folder (their base files') are put together, and
//     only trees of one line of files (no branches: which branch of one
//     goes with which of another is not known) with no merge under way.
//   - Trees are put together when their live states (leaf files) hold
//     members of one group over several disks (same volume group UUID, its
//     metadata listing a physical volume the disk does not hold; a physical
//     volume made without metadata goes with the group that lists it),
//     transitively. Clones of a VM of one disk share their group's UUIDs
//     but have nothing to join: they stay apart, without a warning.
//     Volumes of different groups are never joined: that is done per
//     group when the volumes are opened.
//   - Two trees holding the same member (a physical volume's UUID: a
//     copied disk beside its original) are not put together with anything;
//     a warning names both files. Which one is the real one is not guessed.
//   - The live states are one checkpoint, "Now": the current state of each
//     disk is always what it holds now. Older states are paired by their
//     position from the live state only when every chain has as many files
//     (Hyper-V adds one to every disk of a VM at each checkpoint) and the
//     paired states hold the same copy of the group's metadata (sequence
//     number); from the first level down where that fails, each older file
//     is a checkpoint of its own disk alone, and a warning says so. A
//     disk's old state is never paired with another's newer one on a guess.
//   - The VM is named after its first disk's base file; its disks are
//     Disk0, Disk1, ... in the order the files were found (by name), the
//     same in every checkpoint.

// Member is what a disk says of a group of volumes over several disks it
// is part of (see guest.GroupMember).
type Member struct {
	// Group ties the members together ("" when only the other members'
	// Lists tell it: an LVM physical volume without metadata).
	Group string
	// ID is the member's own identity: two disks holding one are copies.
	ID string
	// Lists holds the IDs of the group's members its metadata names.
	Lists []string
	// Seqno is the version of the group's metadata the member holds.
	Seqno int64
	// Desc names the member in warnings.
	Desc string
}

// looseTree is one configuration-less disk tree that may be put together
// with others.
type looseTree struct {
	root  *diskFile
	files []*diskFile // root to leaf
	dir   string
	leaf  []Member
}

// looseGroups splits the configuration-less trees (in root order) into
// VMs: each returned slice is one VM's trees, the first tree's VM first.
func (b *builder) looseGroups(roots []*diskFile) [][]*diskFile {
	alone := func() [][]*diskFile {
		out := make([][]*diskFile, len(roots))
		for i, r := range roots {
			out[i] = []*diskFile{r}
		}
		return out
	}
	if b.f.opt.Members == nil || !b.f.folder || len(roots) < 2 {
		return alone()
	}
	// Only a folder of two trees or more is read (a remote source pays
	// a request or two a disk).
	inDir := map[string]int{}
	for _, r := range roots {
		inDir[filepath.Dir(r.path)]++
	}
	trees := make([]*looseTree, len(roots))
	byDir := map[string][]int{}
	for i, r := range roots {
		if inDir[filepath.Dir(r.path)] < 2 {
			continue
		}
		t := b.looseTree(r)
		if t == nil || len(t.leaf) == 0 {
			continue
		}
		trees[i] = t
		byDir[t.dir] = append(byDir[t.dir], i)
	}
	// Union-find over trees sharing a group, within each folder.
	up := make([]int, len(roots))
	for i := range up {
		up[i] = i
	}
	find := func(i int) int {
		for up[i] != i {
			up[i] = up[up[i]]
			i = up[i]
		}
		return i
	}
	union := func(i, j int) {
		if x, y := find(i), find(j); x != y {
			up[max(x, y)] = min(x, y)
		}
	}
	for _, idx := range byDir {
		byGroup := map[string]int{}
		listedBy := map[string]int{} // member ID → a tree whose metadata lists it
		for _, i := range idx {
			for _, m := range trees[i].leaf {
				if m.Group == "" {
					continue
				}
				if j, ok := byGroup[m.Group]; ok {
					union(i, j)
				} else {
					byGroup[m.Group] = i
				}
				for _, id := range m.Lists {
					if _, ok := listedBy[id]; !ok {
						listedBy[id] = i
					}
				}
			}
		}
		for _, i := range idx {
			for _, m := range trees[i].leaf {
				if j, ok := listedBy[m.ID]; ok && m.Group == "" {
					union(i, j)
				}
			}
		}
	}
	comps := map[int][]int{}
	for i := range roots {
		if trees[i] != nil {
			comps[find(i)] = append(comps[find(i)], i)
		}
	}
	// A member held twice (a copied disk): that group is not put together.
	for c, idx := range comps {
		if len(idx) < 2 {
			continue
		}
		holder := map[string]int{}
		for _, i := range idx {
			for _, m := range trees[i].leaf {
				if j, ok := holder[m.ID]; ok && j != i {
					b.warn("%s and %s both hold %s (a copied disk?): which is the real one is not guessed, so the disks of their group "+
						"are not put together as one VM (leave one of them out of the folder, or add the VM's configuration)", trees[j].files[len(trees[j].files)-1].path,
						trees[i].files[len(trees[i].files)-1].path, m.Desc)
					delete(comps, c)
					break
				}
				holder[m.ID] = i
			}
			if comps[c] == nil {
				break
			}
		}
	}
	var out [][]*diskFile
	taken := map[int]bool{}
	for i, r := range roots {
		if taken[i] {
			continue
		}
		idx := comps[find(i)]
		if trees[i] == nil || len(idx) < 2 {
			out = append(out, []*diskFile{r})
			continue
		}
		var g []*diskFile
		for _, j := range idx {
			taken[j] = true
			g = append(g, roots[j])
		}
		out = append(out, g)
	}
	return out
}

// looseTree reads the members of the live state of root's tree, or
// returns nil when the tree cannot be put together with others: it
// branches, a merge is under way in it, or its live state cannot be read.
func (b *builder) looseTree(root *diskFile) *looseTree {
	t := &looseTree{root: root, dir: filepath.Dir(root.path)}
	for d := root; d != nil; {
		if d.merging != nil || d.broken || len(d.children) > 1 {
			return nil
		}
		t.files = append(t.files, d)
		if len(d.children) == 0 {
			break
		}
		d = d.children[0]
	}
	ms, err := b.members(t.files[len(t.files)-1])
	if err != nil {
		return nil
	}
	// Only members of a group over several disks count: the group's
	// metadata lists a member the disk does not hold (clones of a VM of
	// one disk share their group's and members' UUIDs, and have nothing
	// to join). One without metadata lends to a group elsewhere.
	held := map[string]bool{}
	for _, m := range ms {
		held[m.ID] = true
	}
	for _, m := range ms {
		needs := m.Group == ""
		for _, id := range m.Lists {
			needs = needs || !held[id]
		}
		if needs {
			t.leaf = append(t.leaf, m)
		}
	}
	return t
}

// members reads what the state whose top is d says of its groups.
func (b *builder) members(d *diskFile) ([]Member, error) {
	ch, err := b.f.chainOf(d)
	if err != nil {
		return nil, err
	}
	return b.f.opt.Members(ch, ch.Size())
}

// sameMetadata reports whether the states at one level (one file of each
// tree) hold the same copy of each group's metadata that several of them
// hold; when not, it says which.
func (b *builder) sameMetadata(level []*diskFile) (bool, string) {
	seqno := map[string]int64{}
	from := map[string]*diskFile{}
	for _, d := range level {
		ms, err := b.members(d)
		if err != nil {
			return false, fmt.Sprintf("%s cannot be read: %v", d.path, err)
		}
		for _, m := range ms {
			if m.Group == "" {
				continue
			}
			if s, ok := seqno[m.Group]; ok && s != m.Seqno {
				return false, fmt.Sprintf("%s and %s hold different versions of their group's metadata (sequence numbers %d and %d)",
					from[m.Group].path, d.path, s, m.Seqno)
			}
			seqno[m.Group], from[m.Group] = m.Seqno, d
		}
	}
	return true, ""
}

// groupedVM makes one VM of the configuration-less trees of roots (see
// the rules above).
func (b *builder) groupedVM(roots []*diskFile) error {
	trees := make([][]*diskFile, len(roots))
	depth := -1
	same := true
	for i, r := range roots {
		for d := r; d != nil; {
			trees[i] = append(trees[i], d)
			if len(d.children) == 0 {
				break
			}
			d = d.children[0]
		}
		if depth >= 0 && len(trees[i]) != depth {
			same = false
		}
		depth = len(trees[i])
	}
	// paired counts the levels, from the live state down, whose states
	// are taken together.
	paired := 1
	var why string
	if same {
		for paired < depth {
			level := make([]*diskFile, len(trees))
			for i, t := range trees {
				level[i] = t[len(t)-1-paired]
			}
			ok, w := b.sameMetadata(level)
			if !ok {
				why = w
				break
			}
			paired++
		}
	} else {
		var n []string
		for _, t := range trees {
			n = append(n, fmt.Sprint(len(t)))
		}
		why = "their chains have " + strings.Join(n, ", ") + " files"
	}
	var names []string
	for _, t := range trees {
		names = append(names, filepath.Base(t[len(t)-1].path))
	}
	vm := &VM{Name: stem(roots[0].path), ID: stem(roots[0].path)}
	b.track(vm)
	if why != "" {
		joined := "only their live states are joined (Now)"
		if paired > 1 {
			joined = fmt.Sprintf("their %d newest states are joined", paired)
		}
		b.warn("%s: disks of one LVM volume group or Windows dynamic disk group with no VM configuration, put together as VM %q: %s, so which of their older states were taken together is not known: "+
			"%s, each older file is a checkpoint of its own disk", strings.Join(names, ", "), vm.Name, why, joined)
	}
	diskName := func(i int) string { return fmt.Sprintf("Disk%d", i) }
	var last *Checkpoint // the newest checkpoint of Disk0's own states
	for i, t := range trees {
		var parent *Checkpoint
		for _, d := range t[:len(t)-paired] {
			cp := &Checkpoint{Name: stem(d.path), ID: stem(d.path), Created: d.mtime, Parent: parent}
			if err := b.addDisk(vm, cp, diskName(i), d); err != nil {
				return err
			}
			vm.Checkpoints = append(vm.Checkpoints, cp)
			b.stems[cp] = true
			parent = cp
		}
		if i == 0 {
			last = parent
		}
	}
	for j := paired - 1; j >= 0; j-- {
		first := trees[0][len(trees[0])-1-j]
		cp := &Checkpoint{Name: stem(first.path), ID: stem(first.path), Created: first.mtime, Parent: last}
		for i, t := range trees {
			if err := b.addDisk(vm, cp, diskName(i), t[len(t)-1-j]); err != nil {
				return err
			}
		}
		vm.Checkpoints = append(vm.Checkpoints, cp)
		b.stems[cp] = true
		last = cp
	}
	now := &Checkpoint{Name: liveName, ID: liveName, Live: true, Created: trees[0][len(trees[0])-1].mtime, Parent: last}
	for i, t := range trees {
		if err := b.addDisk(vm, now, diskName(i), t[len(t)-1]); err != nil {
			return err
		}
	}
	vm.Checkpoints = append(vm.Checkpoints, now)
	b.cat.VMs = append(b.cat.VMs, vm)
	return nil
}
