package btrfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// chunkItem encodes a btrfs_chunk for the parser tests.
func chunkItem(length, stripeLen, typ uint64, n, sub int, devs ...uint64) []byte {
	le := binary.LittleEndian
	b := make([]byte, chunkItemSize+len(devs)*stripeSize)
	le.PutUint64(b[0:], length)
	le.PutUint64(b[16:], stripeLen)
	le.PutUint64(b[24:], typ)
	le.PutUint16(b[44:], uint16(n))
	le.PutUint16(b[46:], uint16(sub))
	for i, d := range devs {
		le.PutUint64(b[chunkItemSize+i*stripeSize:], d)
		le.PutUint64(b[chunkItemSize+i*stripeSize+8:], 1<<20)
	}
	return b
}

// TestHostileChunks: chunk items whose stripes do not fit their profile
// are format errors, not maps that index past their stripes.
func TestHostileChunks(t *testing.T) {
	const l = 1 << 30
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"no stripes", chunkItem(l, 65536, bgData, 0, 0)},
		{"too many stripes", chunkItem(l, 65536, bgData|bgRAID0, maxStripes+1, 0)},
		{"stripes past the item", chunkItem(l, 65536, bgData|bgRAID0, 3, 0, 1, 2)},
		{"RAID10 without sub-stripes", chunkItem(l, 65536, bgData|bgRAID10, 4, 0, 1, 2, 3, 4)},
		{"RAID10 odd stripes", chunkItem(l, 65536, bgData|bgRAID10, 3, 2, 1, 2, 3)},
		{"RAID1 of three", chunkItem(l, 65536, bgData|bgRAID1, 3, 0, 1, 2, 3)},
		{"RAID1C3 of two", chunkItem(l, 65536, bgData|bgRAID1C3, 2, 0, 1, 2)},
		{"RAID1C4 of three", chunkItem(l, 65536, bgData|bgRAID1C4, 3, 0, 1, 2, 3)},
		{"DUP of one", chunkItem(l, 65536, bgData|bgDUP, 1, 0, 1)},
		{"single of two", chunkItem(l, 65536, bgData, 2, 0, 1, 2)},
		{"RAID5 of one", chunkItem(l, 65536, bgData|bgRAID5, 1, 0, 1)},
		{"RAID6 of two", chunkItem(l, 65536, bgData|bgRAID6, 2, 0, 1, 2)},
		{"two profiles", chunkItem(l, 65536, bgData|bgRAID0|bgRAID1, 2, 0, 1, 2)},
		{"stripe length 0", chunkItem(l, 0, bgData|bgRAID0, 2, 0, 1, 2)},
		{"huge stripe length", chunkItem(l, 1<<40, bgData|bgRAID0, 2, 0, 1, 2)},
		{"stripe length not a power of two", chunkItem(l, 65536+4096, bgData|bgRAID0, 2, 0, 1, 2)},
		{"length 0", chunkItem(0, 65536, bgData, 1, 0, 1)},
	} {
		if _, _, err := parseChunk(tc.b, 1<<20, 0); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: got %v, want ErrFormat", tc.name, err)
		}
	}
}

// memDevices is a set of in-memory devices for the mapping tests.
func memDevices(n int, size int64) (*deviceSet, [][]byte) {
	set := &deviceSet{byID: map[uint64]*device{}}
	bufs := make([][]byte, n)
	for i := range n {
		bufs[i] = make([]byte, size)
		d := &device{DeviceInfo: DeviceInfo{ID: uint64(i + 1), Given: i}, r: bytes.NewReader(bufs[i]), size: size}
		set.byID[d.ID] = d
		if i == 0 {
			set.first = d
		}
	}
	return set, bufs
}

// gfMulSlow multiplies in GF(2^8) bit by bit (no tables), to check the
// table-driven rebuild against.
func gfMulSlow(a, b byte) byte {
	var p byte
	for ; b != 0; b >>= 1 {
		if b&1 != 0 {
			p ^= a
		}
		hi := a & 0x80
		a <<= 1
		if hi != 0 {
			a ^= 0x1d
		}
	}
	return p
}

// TestRAID6Rebuild lays out a RAID6 chunk of 5 devices by hand (rows of
// 3 data units, P and Q rotating) and reads it whole with every device
// and every pair of devices missing: the bytes come back, rebuilt from P,
// Q or both; with three missing, the error names them.
func TestRAID6Rebuild(t *testing.T) {
	const n, k, sl, rows = 5, 3, 4096, 6
	set, bufs := memDevices(n, 1<<20+rows*sl)
	c := chunk{logical: 1 << 30, length: k * sl * rows, typ: bgData | bgRAID6, stripeLen: sl}
	for i := range n {
		c.stripes = append(c.stripes, stripe{devID: uint64(i + 1), offset: 1 << 20})
	}
	m := chunkMap{devs: set}
	if err := m.add(c); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, c.length)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.UintN(256))
	}
	for row := range rows {
		pq := make([][]byte, 2)
		pq[0], pq[1] = make([]byte, sl), make([]byte, sl)
		for i := range k {
			unit := data[(row*k+i)*sl:][:sl]
			copy(bufs[(i+row)%n][1<<20+row*sl:], unit)
			g := byte(1)
			for range i {
				g = gfMulSlow(g, 2)
			}
			for j, b := range unit {
				pq[0][j] ^= b
				pq[1][j] ^= gfMulSlow(b, g)
			}
		}
		copy(bufs[(k+row)%n][1<<20+row*sl:], pq[0])
		copy(bufs[(k+1+row)%n][1<<20+row*sl:], pq[1])
	}
	read := func() ([]byte, error) {
		got := make([]byte, len(data))
		// Reads of 3000 bytes cross unit boundaries.
		for off := 0; off < len(got); off += 3000 {
			end := min(off+3000, len(got))
			if err := m.readCopy(got[off:end], c.logical+uint64(off), 0); err != nil {
				return nil, err
			}
		}
		return got, nil
	}
	for a := 0; a <= n; a++ {
		for b := a + 1; b <= n+1; b++ {
			for _, id := range []int{a, b} {
				if id >= 1 && id <= n {
					set.byID[uint64(id)].r = nil
				}
			}
			got, err := read()
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("devices %d and %d missing: %v, equal %v", a, b, err, bytes.Equal(got, data))
			}
			for _, id := range []int{a, b} {
				if id >= 1 && id <= n {
					set.byID[uint64(id)].r = bytes.NewReader(bufs[id-1])
				}
			}
		}
	}
	// Copy 2 is the rebuild from Q alone.
	got := make([]byte, sl)
	if err := m.readCopy(got, c.logical+sl, 2); err != nil || !bytes.Equal(got, data[sl:2*sl]) {
		t.Errorf("rebuild from Q: %v", err)
	}
	for _, id := range []uint64{1, 2, 4} {
		set.byID[id].r = nil
	}
	_, err := read()
	if !errors.Is(err, ErrDevices) || !strings.Contains(err.Error(), "devices 1, 2 and 4") {
		t.Errorf("three missing: got %v", err)
	}
}

// TestHostileDeviceItems: the chunk tree's device items must name each
// device once, agree with the device given on its UUID, stay within the
// device bound and add up to the superblock's count.
func TestHostileDeviceItems(t *testing.T) {
	item := func(id uint64, uuid byte) []byte {
		b := make([]byte, devItemSize)
		binary.LittleEndian.PutUint64(b, id)
		binary.LittleEndian.PutUint64(b[8:], 1<<30)
		b[66] = uuid
		return b
	}
	set, _ := memDevices(1, 1<<20)
	if err := set.addDevItem(item(1, 0)); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"listed twice":   item(1, 0),
		"truncated":      item(2, 0)[:50],
		"other UUID":     item(1, 9),
		"a device again": nil,
	} {
		if b == nil {
			if err := set.addDevItem(item(3, 0)); err != nil {
				t.Fatal(err)
			}
			b = item(3, 0)
		}
		if err := set.addDevItem(b); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: got %v, want ErrFormat", name, err)
		}
	}
	if err := set.check(&superblock{numDevices: 3}); !errors.Is(err, ErrFormat) {
		t.Errorf("count differing from the superblock's: got %v", err)
	}
	many, _ := memDevices(1, 1<<20)
	var err error
	for id := uint64(2); id < maxDevices+10 && err == nil; id++ {
		err = many.addDevItem(item(id, 0))
	}
	if !errors.Is(err, ErrFormat) {
		t.Errorf("%d devices: got %v", maxDevices+10, err)
	}
	// A device given that the chunk tree does not list.
	alone, _ := memDevices(2, 1<<20)
	_ = alone.addDevItem(item(1, 0))
	if err := alone.check(&superblock{numDevices: 1}); !errors.Is(err, ErrFormat) {
		t.Errorf("unlisted device given: got %v", err)
	}
}
