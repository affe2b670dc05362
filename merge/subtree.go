package merge

import (
	"fmt"
	"sort"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/vhdx"
)

// NewSubtree plans Hyper-V's "Delete Checkpoint Subtree": the checkpoint
// and every checkpoint under it go away; the live state, when it is under
// it, keeps its content. Disk files on side branches are deleted, then the
// files between the checkpoint and the live disk are folded into the live
// disk one by one, nearest first. Refused when several live states are
// under the checkpoint (which one would keep its content?), when the
// checkpoint is the live state, or when a checkpoint outside the subtree
// reads any file that would go away.
func NewSubtree(cat *catalog.Catalog, name string) (*Plan, error) {
	vm, cp, err := cat.Find(name)
	if err != nil {
		return nil, err
	}
	if cp.Live {
		return nil, fmt.Errorf("%w: %q is the live state of the VM; only checkpoints can be deleted", ErrRefused, cp.Name)
	}
	in := map[*catalog.Checkpoint]bool{}
	var live []*catalog.Checkpoint
	for _, c := range vm.Checkpoints {
		if under(c, cp) {
			in[c] = true
			if c.Live {
				live = append(live, c)
			}
		}
	}
	if len(live) > 1 {
		return nil, fmt.Errorf("%w: %d live states are under %q (%s); delete the branches one by one", ErrRefused, len(live), cp.Name, names(live))
	}
	tree := treeOf(cat)
	p := &Plan{VM: vm.Name, Checkpoint: cp.Name, Subtree: true}
	for _, d := range cp.Disks {
		steps, err := subtreeDisk(tree, cat, in, cp, d, live)
		if err != nil {
			return nil, err
		}
		p.Steps = append(p.Steps, steps...)
	}
	if err := refusePending(cat, p); err != nil {
		return nil, err
	}
	p.notes(vm)
	return p, nil
}

func under(c, top *catalog.Checkpoint) bool {
	for n := 0; c != nil && n < 1<<16; c, n = c.Parent, n+1 {
		if c == top {
			return true
		}
	}
	return false
}

func names(cs []*catalog.Checkpoint) string {
	var s []string
	for _, c := range cs {
		s = append(s, fmt.Sprintf("%q", c.Name))
	}
	return fmt.Sprint(s)
}

// subtreeDisk plans one disk: delete side files, then fold the path.
func subtreeDisk(tree *files, cat *catalog.Catalog, in map[*catalog.Checkpoint]bool, cp *catalog.Checkpoint, d *catalog.Disk, live []*catalog.Checkpoint) ([]*Step, error) {
	top := clean(d.File)
	var path []string // live file's ancestors from it up to top, nearest first
	var leaf string
	if len(live) == 1 {
		for _, ld := range live[0].Disks {
			if ld.Name == d.Name {
				leaf = clean(ld.File)
			}
		}
		for f := tree.parent[leaf]; ; f = tree.parent[f] {
			if f == "" {
				return nil, fmt.Errorf("%w: the live disk %s does not descend from %s", ErrRefused, leaf, top)
			}
			path = append(path, f)
			if f == top {
				break
			}
		}
	}
	onPath := map[string]bool{leaf: true}
	for _, f := range path {
		onPath[f] = true
	}
	// Every file of the subtree's checkpoints that is not on the path goes.
	var side []string
	seen := map[string]bool{}
	for c := range in {
		for _, cd := range c.Disks {
			f := clean(cd.File)
			if cd.Name == d.Name && !onPath[f] && !seen[f] {
				seen[f] = true
				side = append(side, f)
			}
		}
	}
	if err := outsideUsers(tree, in, append(append([]string(nil), side...), path...)); err != nil {
		return nil, err
	}
	depth := func(f string) int {
		n := 0
		for ; f != "" && n < 1<<16; f = tree.parent[f] {
			n++
		}
		return n
	}
	sort.Slice(side, func(i, j int) bool { return depth(side[i]) > depth(side[j]) })
	var steps []*Step
	for _, f := range side {
		steps = append(steps, &Step{Disk: d.Name, Remove: f})
	}
	if len(path) > 0 {
		if err := vhdxOnly(tree, append([]string{leaf}, path...)...); err != nil {
			return nil, err
		}
	}
	c := tree.chain[leaf]
	for i, f := range path {
		st := &Step{Disk: d.Name, Remove: f, Fold: true, Into: leaf, NewParent: tree.parent[f]}
		if c != nil && i+1 < len(c.Layers) {
			st.CopyBytes = ownedBy(c, i+1)
		}
		steps = append(steps, st)
	}
	return steps, nil
}

// outsideUsers refuses when a checkpoint outside the subtree reads a file
// that would go away.
func outsideUsers(tree *files, in map[*catalog.Checkpoint]bool, gone []string) error {
	g := map[string]bool{}
	for _, f := range gone {
		g[f] = true
	}
	for f, users := range tree.users {
		for _, u := range users {
			if in[u] {
				continue
			}
			for l, n := f, 0; l != "" && n < 1<<16; l, n = tree.parent[l], n+1 {
				if g[l] {
					return fmt.Errorf("%w: checkpoint %s outside the subtree reads %s", ErrRefused, tree.who(u), l)
				}
			}
		}
	}
	return nil
}

// ownedBy sums the bytes chain layer j supplies: what folding it into the
// top copies (an estimate for a base fold, which also fills zeros).
func ownedBy(c *vhdx.Chain, j int) int64 {
	ext, err := c.Extents(0, c.Size())
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range ext {
		if e.Layer == j {
			n += e.Len
		}
	}
	return n
}
