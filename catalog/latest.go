package catalog

// Latest is the VM's live checkpoint (the last one when there are
// several), else its last checkpoint in creation order; nil for a VM
// without checkpoints. The mount's `latest` link and serve's default
// export both point at it.
func (vm *VM) Latest() *Checkpoint {
	var last *Checkpoint
	for _, c := range vm.Checkpoints {
		if c.Live {
			last = c
		}
	}
	if last == nil && len(vm.Checkpoints) > 0 {
		last = vm.Checkpoints[len(vm.Checkpoints)-1]
	}
	return last
}
