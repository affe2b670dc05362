package vhdx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goodVHDX returns the bytes of a small base VHDX with data in block 0
// and block 3, made by the package's writer.
func goodVHDX(t testing.TB) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "good.vhdx")
	w, err := Create(p, CreateOptions{VirtualSize: 8 << 20, BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	w.WriteAt(bytes.Repeat([]byte{0x42}, 4096), 0)
	w.WriteAt(bytes.Repeat([]byte{0x43}, 4096), 3<<20)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Offsets of the writer's fixed layout, for mutations.
const (
	metaItems   = newMetaOff + metadataTableSz
	itemParams  = metaItems
	itemSize    = metaItems + 8
	itemLogical = metaItems + 32
	batFirst    = newBATOff
)

// messWith copies b, applies f, and recomputes the checksums of both
// headers and region tables when fix is set, so a mutation reaches the
// structure behind them.
func messVHDX(b []byte, fix bool, f func(b []byte)) []byte {
	c := append([]byte(nil), b...)
	f(c)
	if fix {
		for _, off := range []int{header1Off, header2Off} {
			if off+headerSize <= len(c) {
				putCRC(c[off:off+headerSize], 4)
			}
		}
		for _, off := range []int{regionTable1Off, regionTable2Off} {
			if off+regionTableSize <= len(c) {
				putCRC(c[off:off+regionTableSize], 4)
			}
		}
	}
	return c
}

func le32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
func le64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }

// TestHostileVHDX opens damaged variants of a good file. Each must give
// the named error (or open and fail on the damaged block), never panic.
func TestHostileVHDX(t *testing.T) {
	good := goodVHDX(t)
	rng := rand.New(rand.NewSource(1))
	random := make([]byte, 1<<20)
	rng.Read(random)
	copy(random, "vhdxfile")
	cases := []struct {
		name    string
		data    []byte
		openErr error // nil: opens; then readErr applies to reading block 0 and 3
		readErr error
	}{
		{"zero length", nil, ErrFormat, nil},
		{"signature only", []byte("vhdxfile"), ErrFormat, nil},
		{"random after signature", random, ErrFormat, nil},
		{"truncated in the headers", good[:100<<10], ErrFormat, nil},
		{"truncated in the region tables", good[:200<<10], ErrFormat, nil},
		{"truncated in the BAT", good[:newBATOff+4096], ErrFormat, nil},
		{"both headers bad", messVHDX(good, false, func(b []byte) { b[header1Off+100]++; b[header2Off+100]++ }), ErrChecksum, nil},
		{"one header bad", messVHDX(good, false, func(b []byte) { b[header1Off+100]++ }), nil, nil},
		{"header version 2", messVHDX(good, true, func(b []byte) { b[header1Off+66], b[header2Off+66] = 2, 2 }), ErrUnsupported, nil},
		{"log unaligned", messVHDX(good, true, func(b []byte) {
			le64(b, header1Off+72, 12345)
			le64(b, header2Off+72, 12345)
		}), ErrFormat, nil},
		{"log past the end", messVHDX(good, true, func(b []byte) {
			g := NewGUID()
			for _, h := range []int{header1Off, header2Off} {
				copy(b[h+48:], g[:])
				le64(b, h+72, 1<<40)
			}
		}), ErrLog, nil},
		{"both region tables bad", messVHDX(good, false, func(b []byte) { b[regionTable1Off+40]++; b[regionTable2Off+40]++ }), ErrChecksum, nil},
		{"region count huge", messVHDX(good, true, func(b []byte) {
			le32(b, regionTable1Off+8, 1<<30)
			le32(b, regionTable2Off+8, 1<<30)
		}), ErrFormat, nil},
		{"BAT region past the end", messVHDX(good, true, func(b []byte) {
			le64(b, regionTable1Off+16+16, 1<<50)
			le64(b, regionTable2Off+16+16, 1<<50)
		}), ErrFormat, nil},
		{"unknown required region", messVHDX(good, true, func(b []byte) {
			for _, rt := range []int{regionTable1Off, regionTable2Off} {
				le32(b, rt+8, 3)
				e := b[rt+16+64:]
				g := NewGUID()
				copy(e, g[:])
				le64(e, 16, 5*mib)
				le32(e, 24, mib)
				le32(e, 28, 1)
			}
		}), ErrUnsupported, nil},
		{"block size 3 MiB", messVHDX(good, false, func(b []byte) { le32(b, itemParams, 3*mib) }), ErrFormat, nil},
		{"block size 0", messVHDX(good, false, func(b []byte) { le32(b, itemParams, 0) }), ErrFormat, nil},
		{"logical sector 1024", messVHDX(good, false, func(b []byte) { le32(b, itemLogical, 1024) }), ErrFormat, nil},
		{"virtual size 2^60", messVHDX(good, false, func(b []byte) { le64(b, itemSize, 1<<60) }), ErrFormat, nil},
		{"virtual size needs a larger BAT", messVHDX(good, false, func(b []byte) { le64(b, itemSize, 1<<40) }), ErrFormat, nil},
		{"metadata count huge", messVHDX(good, false, func(b []byte) { binary.LittleEndian.PutUint16(b[newMetaOff+10:], 60000) }), ErrFormat, nil},
		{"metadata item outside region", messVHDX(good, false, func(b []byte) { le32(b, newMetaOff+32+16, 2*mib) }), ErrFormat, nil},
		{"metadata item duplicated", messVHDX(good, false, func(b []byte) { copy(b[newMetaOff+64:newMetaOff+80], b[newMetaOff+32:newMetaOff+48]) }), ErrFormat, nil},
		{"BAT entry past the end", messVHDX(good, false, func(b []byte) { le64(b, batFirst, 1<<40|payloadFullyPresent) }), nil, ErrFormat},
		{"BAT entry reserved state", messVHDX(good, false, func(b []byte) { le64(b, batFirst, 4<<20|4) }), nil, ErrFormat},
		{"BAT partial in a base disk", messVHDX(good, false, func(b []byte) { b[batFirst] = b[batFirst]&^7 | payloadPartially }), nil, ErrFormat},
		{"BAT entry in the headers", messVHDX(good, false, func(b []byte) { le64(b, batFirst, payloadFullyPresent) }), nil, ErrFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := NewDisk(bytes.NewReader(c.data), int64(len(c.data)))
			if c.openErr != nil {
				if !errors.Is(err, c.openErr) {
					t.Fatalf("open: %v, want %v", err, c.openErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			ch, err := NewChain([]*Disk{d}, ChainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4096)
			_, err = ch.ReadAt(buf, 0)
			if c.readErr == nil && err == nil && buf[0] != 0x42 {
				t.Fatalf("block 0 reads %#x", buf[0])
			}
			if c.readErr != nil && !errors.Is(err, c.readErr) {
				t.Fatalf("read: %v, want %v", err, c.readErr)
			}
			if _, err := ch.ReadAt(buf, 3<<20); err != nil || buf[0] != 0x43 {
				t.Fatalf("undamaged block 3: %v %#x", err, buf[0])
			}
		})
	}
}

// TestParentFaults covers chains that cannot be resolved: a missing parent,
// a parent with another identity, and a parent loop.
func TestParentFaults(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, parent *Disk) *Disk {
		t.Helper()
		p := filepath.Join(dir, name)
		opt := CreateOptions{VirtualSize: 4 << 20, BlockSize: 1 << 20}
		if parent != nil {
			opt = CreateOptions{Parent: parent}
		}
		w, err := Create(p, opt)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		d, err := OpenDisk(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	base := mk("base.vhdx", nil)
	mk("child.avhdx", base)
	other := mk("other.vhdx", nil)
	mk("orphan.avhdx", other)

	os.Remove(filepath.Join(dir, "other.vhdx"))
	if _, err := OpenChain(filepath.Join(dir, "orphan.avhdx"), ChainOptions{}); !errors.Is(err, ErrParent) {
		t.Errorf("missing parent: %v", err)
	}
	// Replace base.vhdx by a different disk with the same name.
	os.Remove(filepath.Join(dir, "base.vhdx"))
	mk("base.vhdx", nil)
	_, err := OpenChain(filepath.Join(dir, "child.avhdx"), ChainOptions{})
	if !errors.Is(err, ErrParent) || !bytes.Contains([]byte(err.Error()), []byte("base.vhdx")) {
		t.Errorf("mismatched parent: %v", err)
	}
	if c, err := OpenChain(filepath.Join(dir, "child.avhdx"), ChainOptions{IgnoreLinkage: true}); err != nil {
		t.Errorf("IgnoreLinkage: %v", err)
	} else {
		c.Close()
	}
	// A loop: loopb's parent is loopa and loopa is then replaced by a
	// child of loopb.
	a := mk("loopa.vhdx", nil)
	b := mk("loopb.avhdx", a)
	os.Remove(filepath.Join(dir, "loopa.vhdx"))
	mk("loopa.vhdx", b)
	for _, ignore := range []bool{false, true} {
		if _, err := OpenChain(filepath.Join(dir, "loopb.avhdx"), ChainOptions{IgnoreLinkage: ignore}); !errors.Is(err, ErrParent) {
			t.Errorf("loop (ignore linkage %v): %v", ignore, err)
		}
	}
}

// TestMixedChainRefused: [MS-VHDX] defines only VHDX parents for a VHDX
// child. A VHD found where the parent should be is a clear error, even
// when its id happens to match.
func TestMixedChainRefused(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.vhdx")
	w, err := Create(base, CreateOptions{VirtualSize: 4 << 20, BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	parent, err := OpenDisk(base)
	if err != nil {
		t.Fatal(err)
	}
	child := filepath.Join(dir, "child.avhdx")
	cw, err := Create(child, CreateOptions{Parent: parent})
	if err != nil {
		t.Fatal(err)
	}
	cw.Close()
	id := parent.DataWriteGUID
	parent.Close()
	os.Remove(base)
	if err := createVHD(base, vhdCreateOptions{Type: TypeDynamic, Size: 4 << 20, UniqueID: id}); err != nil {
		t.Fatal(err)
	}
	_, err = OpenChain(child, ChainOptions{})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "base.vhdx") {
		t.Fatalf("VHD under VHDX: %v", err)
	}
}
