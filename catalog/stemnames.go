package catalog

import (
	"strconv"
	"strings"
)

// uniqueStems renames the stem checkpoints of vm whose name or id another
// of its checkpoints already has, in list order (parents first):
// "<stem> (2)", "<stem> (3)", …, name and id alike. Without it, two files
// with one stem in a VM's trees (golden.vhdx in two folders, a shared base
// and a VM's own disk) would be two checkpoints no name or id could pick
// apart. Names and ids from configurations stay as Hyper-V wrote them
// (Hyper-V lets two checkpoints share a name; the mount tells their
// folders apart with a Namer).
func uniqueStems(vm *VM, stems map[*Checkpoint]bool) {
	names, ids := map[string]bool{}, map[string]bool{}
	take := func(cp *Checkpoint) {
		names[cp.Name] = true
		ids[foldKey(cp.ID)] = true
	}
	for _, cp := range vm.Checkpoints {
		if !stems[cp] {
			take(cp)
		}
	}
	for _, cp := range vm.Checkpoints {
		if !stems[cp] {
			continue
		}
		base := cp.Name
		for i := 2; names[cp.Name] || ids[foldKey(cp.ID)]; i++ {
			cp.Name = base + " (" + strconv.Itoa(i) + ")"
			cp.ID = cp.Name
		}
		take(cp)
	}
}

// foldKey is equal for two ids that Find matches (strings.EqualFold).
func foldKey(s string) string {
	return strings.ToLower(strings.ToUpper(s))
}
