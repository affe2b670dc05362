package btrfs

// Mapping logical addresses onto the devices, profile by profile, as the
// kernel lays chunks out (volumes.c, btrfs_map_block):
//
//   - single, DUP, RAID1, RAID1C3, RAID1C4: every stripe holds the whole
//     chunk; logical byte rel of the chunk is byte rel of each stripe.
//   - RAID0: the chunk is cut into stripe_len units dealt round-robin to
//     the stripes: unit u is on stripe u mod n, at unit u div n there.
//   - RAID10: the same over n/sub_stripes groups of sub_stripes mirrors.
//   - RAID5/RAID6: rows ("full stripes") of n-p data units and p parity
//     units (P, and Q for RAID6); the row's data unit i lies on stripe
//     (i+row) mod n, P on (n-p+row) mod n and Q on (n-p+1+row) mod n, each
//     at unit row of its stripe. See raid56.go for the rebuilds.

// parity returns the number of parity stripes of a row: 1 for RAID5, 2
// for RAID6, 0 otherwise.
func (c *chunk) parity() int {
	switch c.typ & bgProfiles {
	case bgRAID5:
		return 1
	case bgRAID6:
		return 2
	}
	return 0
}

// striped reports whether the chunk is cut into stripe_len units.
func (c *chunk) striped() bool { return c.typ&(bgRAID0|bgRAID10|bgRAID5|bgRAID6) != 0 }

// copies returns how many ways the chunk's bytes can be read: its copies
// for a mirrored profile; for RAID5/6 the data itself and its rebuilds
// from parity (P; Q for RAID6).
func (c *chunk) copies() int {
	switch c.typ & bgProfiles {
	case bgDUP, bgRAID1, bgRAID1C3, bgRAID1C4:
		return len(c.stripes)
	case bgRAID10:
		return c.subStripes
	case bgRAID5, bgRAID6:
		return 1 + c.parity()
	}
	return 1
}

// copies returns how many ways the bytes at logical can be read.
func (m *chunkMap) copies(logical uint64) int {
	c, err := m.find(logical, 0)
	if err != nil {
		return 1
	}
	return c.copies()
}

// readCopy reads copy mirror (0 to copies()-1) of the logical range
// [logical, logical+len(p)) into p. It fails with ErrDevices, naming the
// device, when the bytes lie on a device not given (and for RAID5/6 when
// the rebuild needs one), and never returns bytes from anywhere else.
func (m *chunkMap) readCopy(p []byte, logical uint64, mirror int) error {
	c, err := m.find(logical, len(p))
	if err != nil {
		return err
	}
	if mirror < 0 || mirror >= c.copies() {
		return kindErr(ErrRange, -1, "%s has no copy %d", c, mirror)
	}
	rel := logical - c.logical
	for len(p) > 0 {
		n := len(p)
		if c.striped() {
			n = min(n, int(c.stripeLen-rel%c.stripeLen))
		}
		if err := m.readUnit(c, p[:n], rel, mirror); err != nil {
			return err
		}
		p, rel = p[n:], rel+uint64(n)
	}
	return nil
}

// readUnit reads p, at byte rel of chunk c and within one stripe unit.
func (m *chunkMap) readUnit(c *chunk, p []byte, rel uint64, mirror int) error {
	n := uint64(len(c.stripes))
	unit, in := rel/c.stripeLen, rel%c.stripeLen
	switch c.typ & bgProfiles {
	case bgRAID0:
		return m.readStripe(c, int(unit%n), unit/n*c.stripeLen+in, p)
	case bgRAID10:
		groups := n / uint64(c.subStripes)
		i := int(unit%groups)*c.subStripes + mirror
		return m.readStripe(c, i, unit/groups*c.stripeLen+in, p)
	case bgRAID5, bgRAID6:
		return m.readParity(c, p, rel, mirror)
	}
	return m.readStripe(c, mirror, rel, p)
}

// readStripe reads p at byte off of stripe i of c.
func (m *chunkMap) readStripe(c *chunk, i int, off uint64, p []byte) error {
	s := c.stripes[i]
	d := m.devs.get(s.devID)
	if d == nil || d.r == nil {
		return m.devs.missingErr(c, s.devID)
	}
	ph := s.offset + off
	if ph < s.offset || ph > uint64(d.size) || uint64(len(p)) > uint64(d.size)-ph {
		return kindErr(ErrRange, -1, "%s: stripe %d maps to byte 0x%x of device %d, past its end", c, i, ph, s.devID)
	}
	_, err := d.r.ReadAt(p, int64(ph))
	return noEOF(err)
}

// offsetOf returns the byte of the primary device (the first given)
// where copy mirror of logical begins when that copy lies there in one
// run: a chunk of one data stripe (single, DUP, the RAID1s, or a striped
// profile over one data stripe but not RAID5/6, whose parity rotates).
// It is -1 otherwise. Error messages and Extent.VolOff use it.
func (m *chunkMap) offsetOf(logical uint64, mirror int) int64 {
	c, err := m.find(logical, 0)
	if err != nil || c.parity() != 0 || mirror >= c.copies() {
		return -1
	}
	switch c.typ & bgProfiles {
	case bgRAID0:
		if len(c.stripes) != 1 {
			return -1
		}
	case bgRAID10:
		if len(c.stripes) != c.subStripes {
			return -1
		}
	}
	prim, s := m.devs.primary(), c.stripes[mirror]
	rel := logical - c.logical
	if prim == nil || s.devID != prim.ID || s.offset+rel < s.offset || s.offset+rel > uint64(prim.size) {
		return -1
	}
	return int64(s.offset + rel)
}

// direct returns where a copy of the bytes from logical begins on the
// primary device, when one lies there in one run (see offsetOf).
func (m *chunkMap) direct(logical uint64) (int64, bool) {
	for i := range m.copies(logical) {
		if p := m.offsetOf(logical, i); p >= 0 {
			return p, true
		}
	}
	return 0, false
}
