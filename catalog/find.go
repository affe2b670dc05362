package catalog

import (
	"errors"
	"fmt"
	"strings"
)

// Find returns the checkpoint that s names: its name (exactly), else its
// id (any case), else the file stem of a disk file it froze (any case).
// The first of these kinds that matches decides; two matches of that kind
// are ErrAmbiguous. By file stem a frozen checkpoint wins over a live state
// on the same file (without configuration the leaf file is both).
func (vm *VM) Find(s string) (*Checkpoint, error) {
	m := vm.matches(s)
	switch len(m) {
	case 0:
		return nil, fmt.Errorf("%w: %q in VM %q", ErrNotFound, s, vm.Name)
	case 1:
		return m[0], nil
	}
	return nil, fmt.Errorf("%w: %q names %s in VM %q", ErrAmbiguous, s, describe(m), vm.Name)
}

// matches returns the checkpoints of the first kind of match that has any.
func (vm *VM) matches(s string) []*Checkpoint {
	kinds := []func(*Checkpoint) bool{
		func(c *Checkpoint) bool { return c.Name == s },
		func(c *Checkpoint) bool { return strings.EqualFold(c.ID, s) },
		func(c *Checkpoint) bool {
			for _, d := range c.Disks {
				if strings.EqualFold(stem(d.File), s) {
					return true
				}
			}
			return false
		},
	}
	for k, match := range kinds {
		var m []*Checkpoint
		for _, c := range vm.Checkpoints {
			if match(c) {
				m = append(m, c)
			}
		}
		if k == 2 {
			m = preferFrozen(m)
		}
		if len(m) > 0 {
			return m
		}
	}
	return nil
}

func preferFrozen(m []*Checkpoint) []*Checkpoint {
	var frozen []*Checkpoint
	for _, c := range m {
		if !c.Live {
			frozen = append(frozen, c)
		}
	}
	if len(frozen) > 0 {
		return frozen
	}
	return m
}

// Find looks for a checkpoint in every VM (see VM.Find). "VM/checkpoint"
// restricts the search to the VM of that name or id; that form is tried
// first when s contains a "/". A name found in several VMs is ErrAmbiguous.
func (c *Catalog) Find(s string) (*VM, *Checkpoint, error) {
	if i := strings.IndexByte(s, '/'); i > 0 {
		for _, vm := range c.VMs {
			if vm.Name == s[:i] || strings.EqualFold(vm.ID, s[:i]) {
				if cp, err := vm.Find(s[i+1:]); err == nil {
					return vm, cp, nil
				}
			}
		}
	}
	var vms []*VM
	var cps []*Checkpoint
	for _, vm := range c.VMs {
		cp, err := vm.Find(s)
		if err != nil && !isNotFound(err) {
			return nil, nil, err
		}
		if cp != nil {
			vms, cps = append(vms, vm), append(cps, cp)
		}
	}
	switch len(cps) {
	case 0:
		return nil, nil, fmt.Errorf("%w: %q", ErrNotFound, s)
	case 1:
		return vms[0], cps[0], nil
	}
	names := make([]string, len(vms))
	for i, vm := range vms {
		names[i] = fmt.Sprintf("%q", vm.Name+"/"+cps[i].Name)
	}
	return nil, nil, fmt.Errorf("%w: %q is in several VMs: %s (say VM/checkpoint)", ErrAmbiguous, s, strings.Join(names, ", "))
}

func isNotFound(err error) bool {
	return errors.Is(err, ErrNotFound)
}

func describe(m []*Checkpoint) string {
	var parts []string
	for _, c := range m {
		parts = append(parts, fmt.Sprintf("%q (id %s)", c.Name, c.ID))
	}
	return strings.Join(parts, ", ")
}
