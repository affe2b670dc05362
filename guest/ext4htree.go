package guest

import "encoding/binary"

// checkHtree checks the index of a hashed directory the way go-diskfs walks
// it. go-diskfs reads the directory into one buffer (each extent adds its
// stored length in blocks, up to the directory size), then follows every
// index entry of every level down to the leaf blocks, trusting the
// counts and block numbers. Index entries that all point at the same
// block make that a walk of up to 500^3 leaf blocks: a few hundred KiB of
// directory exhausted the memory. In a valid index every block is
// reached once, which bounds the walk by the directory's blocks.
func (g *ext4Guard) checkHtree(ino uint32, off int64, exts []ext4Extent, size uint64) error {
	bs := g.geo.blockSize
	bad := func(format string, args ...any) error {
		return formatErr(off, "ext4: inode %d: hashed directory: "+format, append([]any{ino}, args...)...)
	}
	// Where each block of go-diskfs's buffer comes from.
	var starts []int64 // physical byte offset of buffer block k
	var have uint64
	for _, x := range exts {
		if have >= size {
			break
		}
		n := min(uint64(x.raw)*uint64(bs), size-have)
		for k := uint64(0); k+uint64(bs) <= n; k += uint64(bs) {
			starts = append(starts, int64(x.physical)*bs+int64(k))
		}
		have += n
	}
	if len(starts) == 0 {
		return bad("%d bytes, less than the %d-byte root block", have, bs)
	}
	block := make([]byte, bs)
	read := func(k uint32) error {
		if err := g.spend(len(block)); err != nil {
			return err
		}
		if err := readFull(g.r, g.size, block, starts[k]); err != nil {
			return bad("reading block %d: %v", k, err)
		}
		return nil
	}
	if err := read(0); err != nil {
		return err
	}
	levels, most := int(block[0x1e]), 2
	if g.geo.largeDir {
		most = 3
	}
	if levels > most {
		return bad("%d index levels (at most %d)", levels, most)
	}
	seen := make([]bool, len(starts))
	seen[0] = true
	// Entries of a node: the first block number sits at base-4, the others
	// in 8-byte (hash, block) pairs from base; the count is at base-6.
	children := func(base int) ([]uint32, error) {
		n := max(int(binary.LittleEndian.Uint16(block[base-6:])), 1)
		if base+(n-1)*8 > int(bs) {
			return nil, bad("%d index entries do not fit in a block", n)
		}
		out := make([]uint32, n)
		out[0] = binary.LittleEndian.Uint32(block[base-4:])
		for i := 1; i < n; i++ {
			out[i] = binary.LittleEndian.Uint32(block[base+(i-1)*8+4:])
		}
		for _, k := range out {
			switch {
			case int64(k) >= int64(len(seen)):
				return nil, bad("index entry points at block %d of %d", k, len(seen))
			case seen[k]:
				return nil, bad("block %d is reached twice", k)
			}
			seen[k] = true
		}
		return out, nil
	}
	var walk func(ks []uint32, level int) error
	walk = func(ks []uint32, level int) error {
		if level == 0 {
			return nil // leaves: go-diskfs parses each once, bounded by its size
		}
		for _, k := range ks {
			if err := read(k); err != nil {
				return err
			}
			next, err := children(0x10)
			if err != nil {
				return err
			}
			if err := walk(next, level-1); err != nil {
				return err
			}
		}
		return nil
	}
	root, err := children(0x28)
	if err != nil {
		return err
	}
	return walk(root, levels)
}
