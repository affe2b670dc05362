//go:build !linux

package vhdx

func (d *Disk) prefetch(off, n int64) {
	if d.hint != nil && n > 0 {
		d.hint.Prefetch(off, n)
	}
}
