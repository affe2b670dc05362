//go:build !linux

package vhdx

func (d *Disk) prefetch(off, n int64) {}
