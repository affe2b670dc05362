package btrfs

import (
	"fmt"
	"slices"
	"strings"
)

// RAID5 and RAID6 rebuilds. A row of a RAID5/6 chunk holds k data units
// D0..Dk-1 and P = D0 ^ ... ^ Dk-1; RAID6 adds Q = sum of g^i * Di in
// GF(2^8) (polynomial 0x11d, g = 2), as the kernel's lib/raid6 computes
// it. A data unit that cannot be read (its device missing) or whose
// checksum failed is rebuilt from the others: from P, or from Q when P
// is missing too, or from P and Q when two data units are missing.

// gfExp and gfLog are GF(2^8)'s powers of g and their logarithms; gfExp
// is doubled so that a product needs no modulo.
var (
	gfExp [510]byte
	gfLog [256]byte
)

func init() {
	x := 1
	for i := range 255 {
		gfExp[i], gfExp[i+255] = byte(x), byte(x)
		gfLog[x] = byte(i)
		if x <<= 1; x&0x100 != 0 {
			x ^= 0x11d
		}
	}
}

// gfMulAdd sets dst ^= c*src, byte by byte.
func gfMulAdd(dst, src []byte, c byte) {
	if c == 0 {
		return
	}
	if c == 1 {
		for i, b := range src {
			dst[i] ^= b
		}
		return
	}
	lc := int(gfLog[c])
	for i, b := range src {
		if b != 0 {
			dst[i] ^= gfExp[int(gfLog[b])+lc]
		}
	}
}

// gfScale sets p = c*p.
func gfScale(p []byte, c byte) {
	lc := int(gfLog[c])
	for i, b := range p {
		if b != 0 {
			p[i] = gfExp[int(gfLog[b])+lc]
		}
	}
}

// gfPow returns g^i; gfInv the inverse of a non-zero a.
func gfPow(i int) byte  { return gfExp[i%255] }
func gfInv(a byte) byte { return gfExp[(255-int(gfLog[a]))%255] }

// readParity reads p, within one data unit of a RAID5/6 chunk: copy 0 is
// the unit itself (rebuilt when its device is missing); copy 1 rebuilds it from P (from Q when P is missing,
// from P and Q when another data unit is missing too); copy 2 (RAID6)
// rebuilds it from Q alone, for when P is stale.
func (m *chunkMap) readParity(c *chunk, p []byte, rel uint64, mirror int) error {
	n, np := uint64(len(c.stripes)), c.parity()
	k := int(n) - np
	unit, in := rel/c.stripeLen, rel%c.stripeLen
	row, d := unit/uint64(k), int(unit%uint64(k))
	off := row*c.stripeLen + in
	// member i of the row: data units 0..k-1, then P (k) and Q (k+1).
	idx := func(i int) int { return int((uint64(i) + row) % n) }
	avail := func(i int) bool {
		dev := m.devs.get(c.stripes[idx(i)].devID)
		return dev != nil && dev.r != nil
	}
	if mirror == 0 {
		if avail(d) {
			return m.readStripe(c, idx(d), off, p)
		}
		mirror = 1 // its device is missing: rebuild it at once
	}
	lost := []int{d}
	for i := range k {
		if i != d && !avail(i) {
			lost = append(lost, i)
		}
	}
	pOK, qOK := avail(k), np == 2 && avail(k+1)
	tmp := make([]byte, len(p))
	read := func(i int, dst []byte) error { return m.readStripe(c, idx(i), off, dst) }
	switch {
	case len(lost) == 1 && mirror == 1 && pOK:
		return m.rebuild(p, tmp, k, d, k, read)
	case len(lost) == 1 && qOK && (mirror == 1 || mirror == 2 && pOK):
		return m.rebuild(p, tmp, k, d, k+1, read)
	case len(lost) == 2 && mirror == 1 && pOK && qOK:
		return m.rebuildPQ(p, tmp, k, d, lost[1], read)
	}
	var missing []uint64
	for i := range k + np {
		if !avail(i) {
			missing = append(missing, c.stripes[idx(i)].devID)
		}
	}
	if len(missing) == 0 {
		return kindErr(ErrChecksum, -1, "%s: no rebuild %d of logical 0x%x", c, mirror, c.logical+rel)
	}
	return kindErr(ErrDevices, -1, "%s: logical 0x%x cannot be rebuilt: %s of the row missing (%d data, %d parity stripes)",
		c, c.logical+rel, devList(missing), k, np)
}

// rebuild sets p to data unit d from parity member par of the row: P
// (par k, every coefficient 1) gives Dd = P ^ the other units; Q (par
// k+1, coefficient g^i for unit i) gives Dd = (Q ^ sum of g^i*Di) / g^d.
func (m *chunkMap) rebuild(p, tmp []byte, k, d, par int, read func(int, []byte) error) error {
	coef := func(i int) byte {
		if par == k {
			return 1
		}
		return gfPow(i)
	}
	if err := read(par, p); err != nil {
		return err
	}
	for i := range k {
		if i == d {
			continue
		}
		if err := read(i, tmp); err != nil {
			return err
		}
		gfMulAdd(p, tmp, coef(i))
	}
	if c := coef(d); c != 1 {
		gfScale(p, gfInv(c))
	}
	return nil
}

// rebuildPQ sets p to data unit d when unit e is lost too: with
// Pde = Dd ^ De and Qde = g^d*Dd ^ g^e*De (P and Q without the other
// units), Dd = (Qde ^ g^e*Pde) / (g^d ^ g^e).
func (m *chunkMap) rebuildPQ(p, tmp []byte, k, d, e int, read func(int, []byte) error) error {
	pde := make([]byte, len(p))
	if err := read(k, pde); err != nil {
		return err
	}
	if err := read(k+1, p); err != nil {
		return err
	}
	for i := range k {
		if i == d || i == e {
			continue
		}
		if err := read(i, tmp); err != nil {
			return err
		}
		gfMulAdd(pde, tmp, 1)
		gfMulAdd(p, tmp, gfPow(i))
	}
	gfMulAdd(p, pde, gfPow(e))
	gfScale(p, gfInv(gfPow(d)^gfPow(e)))
	return nil
}

// devList names devices: "device 3", "devices 1 and 3".
func devList(ids []uint64) string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 1 {
		return fmt.Sprintf("device %d", ids[0])
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return "devices " + strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
