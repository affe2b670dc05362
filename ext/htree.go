package ext

import (
	"encoding/binary"
	"math/bits"
)

// Hashed directories (htree). A directory of many blocks keeps an index in
// its first blocks: the names' hashes split into ranges, each pointing at
// the leaf block that holds the names of that range. A lookup reads the
// index blocks on the way (one or two) and one leaf instead of the whole
// directory. The index is only a shortcut: whenever it cannot be used
// (a hash we do not compute, a damaged node, a range that may continue
// past the node we read), the lookup reads the directory as a listing,
// the way readdir does, so a bad index never hides a name.

// Hash versions (dx_root_info.hash_version; the unsigned variants are
// chosen by the superblock flags, not stored).
const (
	hashLegacy  = 0
	hashHalfMD4 = 1
	hashTea     = 2
)

// dirHash computes the hash of name the way the kernel indexes it, with
// the low bit cleared (it marks a hash collision continuing into the next
// block); ok is false for a hash version we do not compute.
func (v *FS) dirHash(version uint8, name string) (uint32, bool) {
	signed := v.geo.hashSigned
	seed := v.geo.hashSeed
	if seed == [4]uint32{} {
		seed = [4]uint32{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}
	}
	var h uint32
	switch version {
	case hashLegacy:
		h = legacyHash(name, signed)
	case hashHalfMD4:
		buf := seed
		var in [8]uint32
		for p := 0; p < len(name) || p == 0; p += 32 {
			nameWords(in[:], name[p:], signed)
			halfMD4(&buf, &in)
			if p+32 >= len(name) {
				break
			}
		}
		h = buf[1]
	case hashTea:
		buf := seed
		var in [4]uint32
		for p := 0; p < len(name) || p == 0; p += 16 {
			nameWords(in[:], name[p:], signed)
			teaTransform(&buf, &in)
			if p+16 >= len(name) {
				break
			}
		}
		h = buf[0]
	default:
		return 0, false
	}
	h &^= 1
	if h == 0x7fffffff<<1 {
		h = (0x7fffffff - 1) << 1 // the end-of-directory marker is never a hash
	}
	return h, true
}

// nameWords packs up to 4*len(out) bytes of s into out, big-end first in
// each word, padding with the length, as the kernel's str2hashbuf does;
// signed says whether bytes above 0x7f count as negative (char signedness
// of the machine that made the filesystem, recorded in the superblock).
func nameWords(out []uint32, s string, signed bool) {
	n := uint32(len(s))
	pad := n | n<<8
	pad |= pad << 16
	val := pad
	s = s[:min(len(s), 4*len(out))]
	k := 0
	for i := 0; i < len(s); i++ {
		c := uint32(s[i])
		if signed {
			c = uint32(int32(int8(s[i])))
		}
		val = c + val<<8
		if i%4 == 3 {
			out[k] = val
			k++
			val = pad
		}
	}
	if k < len(out) {
		out[k] = val
		k++
	}
	for ; k < len(out); k++ {
		out[k] = pad
	}
}

// legacyHash is the first htree hash (dx_hack_hash).
func legacyHash(s string, signed bool) uint32 {
	h0, h1 := uint32(0x12a3fe2d), uint32(0x37abe8f9)
	for i := 0; i < len(s); i++ {
		c := uint32(s[i])
		if signed {
			c = uint32(int32(int8(s[i])))
		}
		h := h1 + (h0 ^ c*7152373)
		if h&0x80000000 != 0 {
			h -= 0x7fffffff
		}
		h1, h0 = h0, h
	}
	return h0 << 1
}

// halfMD4 is MD4's compression function cut to 3 rounds of 8 steps over
// an 8-word input.
func halfMD4(buf *[4]uint32, in *[8]uint32) {
	a, b, c, d := buf[0], buf[1], buf[2], buf[3]
	f := func(x, y, z uint32) uint32 { return z ^ (x & (y ^ z)) }
	g := func(x, y, z uint32) uint32 { return (x & y) + ((x ^ y) & z) }
	h := func(x, y, z uint32) uint32 { return x ^ y ^ z }
	const k2, k3 = 0x5a827999, 0x6ed9eba1
	type step struct {
		w, s int
	}
	round := func(fn func(x, y, z uint32) uint32, k uint32, steps [8]step) {
		for i, st := range steps {
			x := in[st.w] + k
			switch i % 4 {
			case 0:
				a = bits.RotateLeft32(a+fn(b, c, d)+x, st.s)
			case 1:
				d = bits.RotateLeft32(d+fn(a, b, c)+x, st.s)
			case 2:
				c = bits.RotateLeft32(c+fn(d, a, b)+x, st.s)
			case 3:
				b = bits.RotateLeft32(b+fn(c, d, a)+x, st.s)
			}
		}
	}
	round(f, 0, [8]step{{0, 3}, {1, 7}, {2, 11}, {3, 19}, {4, 3}, {5, 7}, {6, 11}, {7, 19}})
	round(g, k2, [8]step{{1, 3}, {3, 5}, {5, 9}, {7, 13}, {0, 3}, {2, 5}, {4, 9}, {6, 13}})
	round(h, k3, [8]step{{3, 3}, {7, 9}, {2, 11}, {6, 15}, {1, 3}, {5, 9}, {0, 11}, {4, 15}})
	buf[0] += a
	buf[1] += b
	buf[2] += c
	buf[3] += d
}

// teaTransform is 16 rounds of the TEA cipher over buf's first two words
// keyed by in.
func teaTransform(buf *[4]uint32, in *[4]uint32) {
	var sum uint32
	b0, b1 := buf[0], buf[1]
	a, b, c, d := in[0], in[1], in[2], in[3]
	for range 16 {
		sum += 0x9e3779b9
		b0 += ((b1 << 4) + a) ^ (b1 + sum) ^ ((b1 >> 5) + b)
		b1 += ((b0 << 4) + c) ^ (b0 + sum) ^ ((b0 >> 5) + d)
	}
	buf[0] += b0
	buf[1] += b1
}

// htreeLookup finds name through the index of directory dir (its content
// mapped by c). usable is false when the index cannot answer (see the top
// of the file); then found means nothing.
func (v *FS) htreeLookup(dir *inode, c *content, name string) (e dirent, found, usable bool) {
	bs := v.geo.blockSize
	nblocks := dir.size() / bs
	block := make([]byte, bs)
	read := func(k uint32) bool {
		if int64(k) >= nblocks {
			return false
		}
		_, err := c.readAt(block, int64(k)*bs)
		return err == nil
	}
	if nblocks < 2 || !read(0) {
		return e, false, false
	}
	// The root: "." and ".." entries, then dx_root_info, then the
	// entries.
	version, infoLen, levels := block[0x1c], int(block[0x1d]), int(block[0x1e])
	most := 1
	if v.geo.largeDir {
		most = 2
	}
	if infoLen != 8 || levels > most || block[0x1f] != 0 {
		return e, false, false
	}
	hash, ok := v.dirHash(version, name)
	if !ok {
		return e, false, false
	}
	base := 0x18 + infoLen // the count and limit of the root's entries
	var lo, next uint32    // the chosen range: from lo, up to next (unless last)
	var last bool          // the chosen range is the node's last
	var leaf uint32
	for level := 0; level <= levels; level++ {
		count := int(binary.LittleEndian.Uint16(block[base+2:]))
		if count == 0 || base+8*count > int(bs) {
			return e, false, false
		}
		// Entry 0 has no hash (it covers everything below entry 1's);
		// the others are (hash, block) pairs, in increasing hash order.
		first, end := 1, count
		for first < end {
			if mid := (first + end) / 2; binary.LittleEndian.Uint32(block[base+8*mid:]) <= hash {
				first = mid + 1
			} else {
				end = mid
			}
		}
		i := first - 1 // the last entry whose hash is at most ours
		if i > 0 {
			lo = binary.LittleEndian.Uint32(block[base+8*i:]) &^ 1
		}
		leaf = binary.LittleEndian.Uint32(block[base+8*i+4:])
		last = i == count-1
		if !last {
			next = binary.LittleEndian.Uint32(block[base+8*(i+1):])
		}
		if level < levels {
			if !read(leaf) {
				return e, false, false
			}
			base = 8 // an index node: a fake empty entry, then the count and limit
		}
	}
	if !read(leaf) {
		return e, false, false
	}
	ents, err := v.parseEntries(nil, block, dir.off)
	if err != nil {
		return e, false, false
	}
	for _, x := range ents {
		if x.name == name {
			return x, true, true
		}
	}
	// Not in the leaf. Names of our hash could continue in the next leaf
	// (collision bit set on the next range's hash), or past this node.
	if last || next&^1 == hash {
		return e, false, false
	}
	// A damaged index may point at the wrong leaf: trust "not here" only
	// from a leaf whose names all hash into the range that led to it.
	for _, x := range ents {
		if h, _ := v.dirHash(version, x.name); h < lo || h > next&^1 {
			return e, false, false
		}
	}
	return e, false, true
}
