package catalog

import "sort"

// orderCheckpoints sorts vm.Checkpoints parents before children, siblings
// live states last, then by creation time and name. Parent links that
// come from configuration files can form a loop; the checkpoints on it
// lose their parent so that every tree walk ends. It reports whether it
// had to cut.
func orderCheckpoints(vm *VM) (cut bool) {
	in := map[*Checkpoint]bool{}
	for _, c := range vm.Checkpoints {
		in[c] = true
	}
	kids := map[*Checkpoint][]*Checkpoint{}
	var roots []*Checkpoint
	for _, c := range vm.Checkpoints {
		if c.Parent != nil && !in[c.Parent] {
			c.Parent = nil
		}
		if c.Parent == nil {
			roots = append(roots, c)
		} else {
			kids[c.Parent] = append(kids[c.Parent], c)
		}
	}
	out := make([]*Checkpoint, 0, len(vm.Checkpoints))
	seen := map[*Checkpoint]bool{}
	var visit func(level []*Checkpoint)
	visit = func(level []*Checkpoint) {
		sortSiblings(level)
		for _, c := range level {
			if seen[c] {
				continue
			}
			seen[c] = true
			out = append(out, c)
			visit(kids[c])
		}
	}
	visit(roots)
	for _, c := range vm.Checkpoints {
		if !seen[c] {
			cut = true
			c.Parent = nil
			visit([]*Checkpoint{c})
		}
	}
	vm.Checkpoints = out
	return cut
}

func sortSiblings(cs []*Checkpoint) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Live != b.Live {
			return !a.Live
		}
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.Name < b.Name
	})
}
