package vss

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// A small volume made by hand: 32 blocks of 16 KiB whose live block b is
// filled with the byte 0x40+b, and two copies.
//
//	block 1      catalog
//	blocks 2-5   older copy A: store header, block list, range list, bitmap
//	blocks 6-10  newer copy B: the same and a previous bitmap
//	blocks 11-13 copied data: B's block 20 ('B'), A's block 20 ('A'),
//	             A's overlay of block 21's first sector ('O')
//
// A also forwards block 22 to block 23; B forwards block 17 to block 26,
// and its bitmaps mark blocks 24-31 unused (26, a forwarder's target,
// still reads).
const synthBlocks = 32

var (
	synthA   = GUID{0xa}
	synthB   = GUID{0xb}
	synthAt  = time.Date(2020, 7, 25, 12, 26, 4, 0, time.UTC)
	synthAt2 = synthAt.Add(time.Hour)
)

func blk(n int64) int64 { return n * BlockSize }

func synthVolume() []byte {
	img := make([]byte, synthBlocks*BlockSize)
	for b := int64(14); b < synthBlocks; b++ {
		fill(img[blk(b):blk(b+1)], byte(0x40+b))
	}
	volumeHeader{Version: 1, CatalogOffset: blk(1), VolumeID: GUID{1}, StorageID: GUID{1}}.put(img[HeaderOffset:])
	cat := img[blk(1):blk(2)]
	blockHeader{Version: 1, Type: recCatalog, Current: blk(1)}.put(cat)
	entries := []catalogEntry{
		{Type: entryStore, ID: synthB, VolumeSize: synthBlocks * BlockSize, Sequence: 2, Flags: 0x40, Created: toFiletime(synthAt2)},
		{Type: entryData, ID: synthB, StoreHeader: blk(6), BlockList: blk(7), RangeList: blk(8), Bitmap: blk(9), PreviousBitmap: blk(10)},
		{Type: entryStore, ID: synthA, VolumeSize: synthBlocks * BlockSize, Sequence: 1, Flags: 0x140, Created: toFiletime(synthAt)},
		{Type: entryData, ID: synthA, StoreHeader: blk(2), BlockList: blk(3), RangeList: blk(4), Bitmap: blk(5)},
	}
	for i, e := range entries {
		e.put(cat[blockHeaderSize+i*entrySize:])
	}
	store := func(first int64, list []descriptor, unused []int64, prev bool) {
		blockHeader{Version: 1, Type: recStoreHeader, Current: blk(first), InfoSize: 100}.put(img[blk(first):])
		blockHeader{Version: 1, Type: recBlockList, Current: blk(first + 1)}.put(img[blk(first+1):])
		for i, d := range list {
			d.put(img[blk(first+1)+blockHeaderSize+int64(i*descriptorSize):])
		}
		blockHeader{Version: 1, Type: recRangeList, Current: blk(first + 2)}.put(img[blk(first+2):])
		bitmaps := []int64{first + 3}
		if prev {
			bitmaps = append(bitmaps, first+4)
		}
		for _, b := range bitmaps {
			blockHeader{Version: 1, Type: recBitmap, Current: blk(b)}.put(img[blk(b):])
			bm := img[blk(b)+blockHeaderSize:]
			for _, u := range unused {
				bm[u/8] |= 1 << (u % 8)
			}
		}
	}
	store(2, []descriptor{
		{Original: blk(20), Offset: blk(12)},
		{Original: blk(21), Relative: 1, Offset: blk(13), Flags: flagOverlay, Bitmap: 1},
		{Original: blk(22), Relative: blk(23), Flags: flagForwarder},
		{Original: blk(25), Offset: blk(12), Flags: flagNotUsed},
	}, nil, false)
	store(6, []descriptor{
		{Original: blk(20), Offset: blk(11)},
		{Original: blk(17), Relative: blk(26), Flags: flagForwarder},
	}, []int64{24, 25, 26, 27, 28, 29, 30, 31}, true)
	fill(img[blk(11):blk(12)], 'B')
	fill(img[blk(12):blk(13)], 'A')
	fill(img[blk(13):blk(14)], 'O')
	return img
}

func fill(b []byte, c byte) {
	for i := range b {
		b[i] = c
	}
}

// expected gives what the copy (A or B) holds at block b.
func expected(copyA bool, b int64) []byte {
	want := bytes.Repeat([]byte{byte(0x40 + b)}, BlockSize)
	switch {
	case b == 20 && copyA:
		fill(want, 'A')
	case b == 20:
		fill(want, 'B')
	case b == 21 && copyA:
		fill(want[:512], 'O')
	case b == 22 && copyA:
		fill(want, 0x40+23)
	case b == 17:
		fill(want, 0x40+26)
	case b >= 24 && b != 26 && !copyA:
		clear(want)
	}
	return want
}

func TestSynthetic(t *testing.T) {
	img := synthVolume()
	v, err := NewVolume(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	st := v.Stores()
	if len(st) != 2 || st[0].ID != synthA || st[1].ID != synthB || !st[0].Created.Equal(synthAt) || !st[0].Offline() || st[1].Offline() {
		t.Fatalf("stores %+v", st)
	}
	for i, s := range st {
		r, err := s.Open()
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, BlockSize)
		for b := int64(14); b < synthBlocks; b++ {
			if _, err := r.ReadAt(got, blk(b)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, expected(i == 0, b)) {
				t.Errorf("copy %d block %d: got %q...", i, b, got[:4])
			}
		}
		// One read across everything equals the blocks read one by one.
		all := make([]byte, len(img))
		if _, err := r.ReadAt(all, 0); err != nil {
			t.Fatal(err)
		}
		for b := int64(14); b < synthBlocks; b++ {
			if !bytes.Equal(all[blk(b):blk(b+1)], expected(i == 0, b)) {
				t.Errorf("copy %d block %d differs in a long read", i, b)
			}
		}
		checkExtents(t, r, all, img)
	}
}

// checkExtents checks the extents tile the volume and that every Live
// extent reads as the live volume and every Zero extent as zeros.
func checkExtents(t *testing.T, r *Reader, copied, live []byte) {
	t.Helper()
	pos := int64(0)
	for _, e := range r.Extents(0, r.Size()) {
		if e.Off != pos || e.Len <= 0 {
			t.Fatalf("extent %+v at %d", e, pos)
		}
		got := copied[e.Off : e.Off+e.Len]
		switch e.Source {
		case Live:
			if !bytes.Equal(got, live[e.Off:e.Off+e.Len]) {
				t.Errorf("live extent %+v differs from the live volume", e)
			}
		case Zero:
			if !allZero(got) {
				t.Errorf("zero extent %+v is not zero", e)
			}
		}
		pos += e.Len
	}
	if pos != r.Size() {
		t.Errorf("extents end at %d, size %d", pos, r.Size())
	}
}

// messWith returns the synthetic volume with one change.
func messWith(f func(img []byte)) []byte {
	img := synthVolume()
	f(img)
	return img
}

func TestHostile(t *testing.T) {
	le := func(img []byte, off int64, v uint64) {
		for i := 0; i < 8; i++ {
			img[off+int64(i)] = byte(v >> (8 * i))
		}
	}
	cases := []struct {
		name    string
		img     []byte
		wantErr error // from NewVolume
		openErr error // from opening the older store
	}{
		{"no header", messWith(func(img []byte) { clear(img[HeaderOffset : HeaderOffset+16]) }), ErrNoShadows, nil},
		{"header type", messWith(func(img []byte) { img[HeaderOffset+20] = 9 }), ErrFormat, nil},
		{"catalog past end", messWith(func(img []byte) { le(img, HeaderOffset+48, 1<<40) }), ErrFormat, nil},
		{"catalog loop", messWith(func(img []byte) { le(img, blk(1)+40, uint64(blk(1))) }), ErrLoop, nil},
		{"catalog type", messWith(func(img []byte) { img[blk(1)+20] = 3 }), ErrFormat, nil},
		{"entry type", messWith(func(img []byte) { img[blk(1)+blockHeaderSize] = 7 }), ErrFormat, nil},
		{"store header missing", messWith(func(img []byte) { clear(img[blk(2) : blk(2)+16]) }), ErrFormat, nil},
		{"list loop", messWith(func(img []byte) { le(img, blk(3)+40, uint64(blk(3))) }), nil, ErrLoop},
		{"list past end", messWith(func(img []byte) { le(img, blk(3)+40, 1<<50) }), nil, ErrFormat},
		{"copy past end", messWith(func(img []byte) { le(img, blk(3)+blockHeaderSize+16, 1<<45) }), nil, ErrFormat},
		{"original past end", messWith(func(img []byte) { le(img, blk(3)+blockHeaderSize, 1<<45) }), nil, ErrFormat},
		{"bitmap loop", messWith(func(img []byte) { le(img, blk(9)+40, uint64(blk(9))) }), nil, ErrLoop},
		{"volume size", messWith(func(img []byte) { le(img, blk(1)+blockHeaderSize+2*entrySize+8, 1<<50) }), nil, ErrFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := NewVolume(bytes.NewReader(c.img), int64(len(c.img)))
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("NewVolume: %v, want %v", err, c.wantErr)
			}
			if err != nil {
				return
			}
			_, err = v.Stores()[0].Open()
			if !errors.Is(err, c.openErr) {
				t.Fatalf("Open: %v, want %v", err, c.openErr)
			}
			var fe *FormatError
			if err != nil && !errors.As(err, &fe) {
				t.Errorf("%v is not a *FormatError", err)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	b := make([]byte, BlockSize)
	h := blockHeader{Version: 1, Type: recBlockList, Relative: 5, Current: 6, Next: 7, InfoSize: 8}
	h.put(b)
	if got, ok := parseBlockHeader(b); !ok || got != h {
		t.Errorf("block header %+v != %+v", got, h)
	}
	vh := volumeHeader{Version: 2, CatalogOffset: 9, MaxSize: 10, VolumeID: GUID{1, 2}, StorageID: GUID{3}}
	vh.put(b)
	if got, err := parseVolumeHeader(b); err != nil || got != vh {
		t.Errorf("volume header %+v != %+v (%v)", got, vh, err)
	}
	for _, e := range []catalogEntry{
		{Type: entryStore, ID: GUID{4}, VolumeSize: 11, Sequence: 12, Flags: 13, Created: 14},
		{Type: entryData, ID: GUID{5}, BlockList: 15, StoreHeader: 16, RangeList: 17, Bitmap: 18, PreviousBitmap: 19},
	} {
		e.put(b)
		if got := parseCatalogEntry(b); got != e {
			t.Errorf("catalog entry %+v != %+v", got, e)
		}
	}
	d := descriptor{Original: 20, Relative: 21, Offset: 22, Flags: 23, Bitmap: 24}
	d.put(b)
	if got := parseDescriptor(b); got != d {
		t.Errorf("descriptor %+v != %+v", got, d)
	}
	if g := (GUID{0x33, 0xa1, 0xe5, 0x12, 0x22, 0x87, 0xe9, 0x11, 0x91, 0x78, 0x52, 0x54, 0, 0x12, 0x34, 0x56}); g.String() != "12e5a133-8722-11e9-9178-525400123456" {
		t.Errorf("GUID %s", g)
	}
	if tm := filetime(toFiletime(synthAt)); !tm.Equal(synthAt) {
		t.Errorf("filetime %v", tm)
	}
}
