package vhdx

// readMixed fills p with the unit's bytes from offset within, run by run.
// Runs of a cold file are loaded ahead by the read-ahead (see readahead.go):
// reading the runs one by one then costs a syscall each, not a disk wait.
func (c *Chain) readMixed(p []byte, u, within int64, runs runList) error {
	end := within + int64(len(p))
	for _, r := range runs.find(within) {
		if r.start >= end {
			break
		}
		from, to := max(r.start, within), min(r.end, end)
		dst := p[from-within : to-within]
		switch r.kind {
		case unitData:
			if err := c.readLayer(r.layer, dst, r.fileOff+(from-r.start)); err != nil {
				return err
			}
		case unitInvalid:
			return c.invalid(r.layer, u)
		default:
			clear(dst)
		}
	}
	return nil
}
