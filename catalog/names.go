package catalog

import (
	"strconv"

	namerule "github.com/ckptfs/ckptfs/internal/names"
)

// maxNameBytes is Linux's NAME_MAX: the longest file name a directory entry
// can hold.
const maxNameBytes = namerule.MaxBytes

// SafeName turns a checkpoint, VM or disk name into one directory entry
// name by the rule of package internal/names, which the mount, the CLI
// and guest file names share.
func SafeName(s string) string { return namerule.Safe(s) }

func truncateName(s string, max int) string { return namerule.Truncate(s, max) }

// Namer hands out safe names unique within one directory. The zero value
// is ready to use.
type Namer struct {
	used map[string]bool
}

// Name returns SafeName(s), or, when that is taken in this directory, the
// first free of "name (2)", "name (3)", … (the base cut so the whole stays
// within 255 bytes). Names are compared exactly, as Linux does.
func (n *Namer) Name(s string) string {
	if n.used == nil {
		n.used = map[string]bool{}
	}
	base := SafeName(s)
	name := base
	for i := 2; n.used[name]; i++ {
		suffix := " (" + strconv.Itoa(i) + ")"
		name = truncateName(base, maxNameBytes-len(suffix)) + suffix
	}
	n.used[name] = true
	return name
}

// Reserve marks a name as taken (e.g. "Now", or fixed entries such as
// "by-time") without returning it.
func (n *Namer) Reserve(name string) {
	if n.used == nil {
		n.used = map[string]bool{}
	}
	n.used[name] = true
}

// Uniquify returns safe names for the given ones, in order, unique among
// themselves by the rule of Namer.Name: the first keeps its name, later
// clashes get " (2)", " (3)", ….
func Uniquify(names []string) []string {
	var n Namer
	out := make([]string, len(names))
	for i, s := range names {
		out[i] = n.Name(s)
	}
	return out
}
