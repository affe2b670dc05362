//go:build !linux

package vhdx

type fileMap struct{}

// mapped is nil where files are not mapped: Chain.Views then says no.
func (d *Disk) mapped() []byte { return nil }

func (d *Disk) unmap() {}
