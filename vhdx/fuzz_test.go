package vhdx

import (
	"bytes"
	"io"
	"os"
	"sync"
	"testing"
)

// The fuzz targets splice the fuzzer's bytes into the structures of a good
// image instead of fuzzing a 4 MiB file whole: the mutations then land on
// headers, region tables, metadata, BAT and log, where parsers live.

var fuzzAreas = []struct{ off, n int }{
	{header1Off, 512}, {header2Off, 512},
	{regionTable1Off, 512}, {regionTable2Off, 512},
	{newMetaOff, 512}, {metaItems, 512},
	{batFirst, 512},
}

var (
	fuzzGoodOnce sync.Once
	fuzzGood     []byte
)

func fuzzBase(t testing.TB) []byte {
	fuzzGoodOnce.Do(func() { fuzzGood = goodVHDX(t) })
	return fuzzGood
}

// splice returns base with in written over its areas, as a reader that
// shares base (copying 5 MiB per run would make the fuzzer crawl). in[0]
// bit 0 asks for the header and region table checksums to be recomputed.
func splice(base, in []byte) *patched {
	fix := len(in) > 0 && in[0]&1 == 1
	if len(in) > 0 {
		in = in[1:]
	}
	p := &patched{base: base}
	for _, a := range fuzzAreas {
		if len(in) == 0 {
			break
		}
		whole := a.n
		switch a.off {
		case header1Off, header2Off:
			whole = headerSize
		case regionTable1Off, regionTable2Off:
			whole = regionTableSize
		}
		area := append([]byte(nil), base[a.off:a.off+whole]...)
		n := copy(area[:a.n], in)
		in = in[n:]
		if fix && whole > a.n {
			putCRC(area, 4)
		}
		p.patches = append(p.patches, patch{off: int64(a.off), data: area})
	}
	return p
}

type patch struct {
	off  int64
	data []byte
}

// patched reads base with patches laid over it.
type patched struct {
	base    []byte
	patches []patch
}

func (p *patched) ReadAt(b []byte, off int64) (int, error) {
	n, err := bytes.NewReader(p.base).ReadAt(b, off)
	for _, pt := range p.patches {
		lo, hi := max(off, pt.off), min(off+int64(n), pt.off+int64(len(pt.data)))
		if lo < hi {
			copy(b[lo-off:hi-off], pt.data[lo-pt.off:hi-pt.off])
		}
	}
	return n, err
}

func areasOf(b []byte) []byte {
	out := []byte{1}
	for _, a := range fuzzAreas {
		out = append(out, b[a.off:a.off+a.n]...)
	}
	return out
}

// exercise opens an image and reads every block's state, a bitmap and
// some data; any error is fine, a panic or hang is not.
func exercise(r io.ReaderAt, size int64) {
	head := make([]byte, min(size, HeadSize))
	if n, _ := r.ReadAt(head, 0); n == len(head) {
		checkOpenRanges(head, size)
	}
	d, err := NewDisk(r, size)
	if err != nil {
		return
	}
	for i := int64(0); i < min(d.Blocks(), 1<<16); i++ {
		if st, _ := d.BlockInfo(i); st == BlockPartial {
			d.SectorBitmap(i)
		}
	}
	if d.Type == TypeDifferencing {
		return // no parent here
	}
	c, err := NewChain([]*Disk{d}, ChainOptions{})
	if err != nil {
		return
	}
	buf := make([]byte, 64<<10)
	for _, off := range []int64{0, c.Size() / 2, max(0, c.Size()-int64(len(buf)))} {
		c.ReadAt(buf, off)
	}
	c.Extents(0, c.Size())
}

func FuzzVHDXOpen(f *testing.F) {
	good := fuzzBase(f)
	f.Add(areasOf(good))
	f.Add([]byte{0})
	f.Add(append([]byte{1}, bytes.Repeat([]byte{0xff}, 3000)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		exercise(splice(good, in), int64(len(good)))
	})
}

// FuzzLogReplay fuzzes the log region of an image whose header names a log.
func FuzzLogReplay(f *testing.F) {
	good := fuzzBase(f)
	guid := mustGUID("11111111-2222-3333-4444-555555555555")
	withLog := messVHDX(good, true, func(b []byte) {
		for _, h := range []int{header1Off, header2Off} {
			copy(b[h+48:], guid[:])
		}
	})
	seed := encodeLogEntry(logEntryParams{seq: 3, guid: guid, flushed: int64(len(good)), last: int64(len(good))},
		[]logWrite{{off: batFirst, data: good[batFirst : batFirst+4096]}, {off: 5 * mib, zeroLen: 8192}})
	f.Add(seed)
	two := append(append([]byte(nil), seed...), encodeLogEntry(logEntryParams{seq: 4, guid: guid, flushed: 4096, last: 4096},
		[]logWrite{{off: newMetaOff, data: good[newMetaOff : newMetaOff+4096]}})...)
	f.Add(two)
	f.Fuzz(func(t *testing.T, log []byte) {
		if len(log) > newLogLen {
			log = log[:newLogLen]
		}
		img := &patched{base: withLog, patches: []patch{{off: newLogOff, data: log}}}
		exercise(img, int64(len(withLog)))
	})
}

// TestFuzzSeedsNoPanic runs the corpus checked into testdata (if any) and
// the seeds as plain tests, so CI covers them without -fuzz.
func TestFuzzSeedsNoPanic(t *testing.T) {
	if _, err := os.Stat("testdata"); err == nil {
		t.Log("seed corpus under testdata/fuzz runs through the Fuzz targets")
	}
}
