package vhdx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// logFixture is a small base VHDX with block 0 allocated, and where its
// log lives, for writing log entries by hand.
type logFixture struct {
	path     string
	blockOff int64 // file offset of block 0
	logOff   int64
	logLen   int64
	size     int64
}

func newLogFixture(t *testing.T) logFixture {
	t.Helper()
	p := filepath.Join(t.TempDir(), "log.vhdx")
	w, err := Create(p, CreateOptions{VirtualSize: 8 << 20, BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt(bytes.Repeat([]byte{0x11}, 1<<20), 0); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDisk(p)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, off := d.BlockInfo(0)
	return logFixture{path: p, blockOff: off, logOff: newLogOff, logLen: newLogLen, size: d.FileSize}
}

// dirty writes entries at the given log offsets and points the current
// header at the log GUID, as a host that crashed mid-update leaves it.
func (f logFixture) dirty(t *testing.T, guid GUID, entries map[int64][]byte) {
	t.Helper()
	fh, err := os.OpenFile(f.path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	for pos, e := range entries {
		first := min(int64(len(e)), f.logLen-pos)
		if _, err := fh.WriteAt(e[:first], f.logOff+pos); err != nil {
			t.Fatal(err)
		}
		if _, err := fh.WriteAt(e[first:], f.logOff); err != nil { // wrapped part
			t.Fatal(err)
		}
	}
	h, _, _, err := readHeaders(fh, f.size)
	if err != nil {
		t.Fatal(err)
	}
	h.Sequence++
	h.LogGUID = guid
	if _, err := fh.WriteAt(h.encode(), header1Off); err != nil {
		t.Fatal(err)
	}
}

func pageOf(b byte) []byte { return bytes.Repeat([]byte{b}, logSectorSize) }

func readVirtual(t *testing.T, path string, off int64, n int) ([]byte, *Disk, error) {
	t.Helper()
	d, err := OpenDisk(path)
	if err != nil {
		return nil, nil, err
	}
	c, err := NewChain([]*Disk{d}, ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n)
	if _, err := c.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	d.Close()
	return b, d, nil
}

func TestLogReplay(t *testing.T) {
	guid := NewGUID()
	other := NewGUID()
	type tc struct {
		name            string
		entries         func(f logFixture) map[int64][]byte
		want            [3]byte // bytes at virtual 0, 4096, 8192
		err             error
		entriesReplayed int
	}
	mk := func(f logFixture, seq uint64, tail int64, g GUID, w ...logWrite) []byte {
		return encodeLogEntry(logEntryParams{seq: seq, tail: tail, guid: g, flushed: f.size, last: f.size}, w)
	}
	cases := []tc{
		{name: "one entry", want: [3]byte{0xaa, 0x11, 0x11}, entriesReplayed: 1,
			entries: func(f logFixture) map[int64][]byte {
				return map[int64][]byte{0: mk(f, 7, 0, guid, logWrite{off: f.blockOff, data: pageOf(0xaa)})}
			}},
		{name: "zero descriptor", want: [3]byte{0x11, 0, 0}, entriesReplayed: 1,
			entries: func(f logFixture) map[int64][]byte {
				return map[int64][]byte{0: mk(f, 7, 0, guid, logWrite{off: f.blockOff + 4096, zeroLen: 8192})}
			}},
		{name: "sequence in order", want: [3]byte{0xcc, 0xbb, 0x11}, entriesReplayed: 3,
			entries: func(f logFixture) map[int64][]byte {
				e1 := mk(f, 20, 0, guid, logWrite{off: f.blockOff, data: pageOf(0xaa)})
				e2 := mk(f, 21, 0, guid, logWrite{off: f.blockOff + 4096, data: pageOf(0xbb)})
				e3 := mk(f, 22, 0, guid, logWrite{off: f.blockOff, data: pageOf(0xcc)})
				return map[int64][]byte{0: e1, int64(len(e1)): e2, int64(len(e1) + len(e2)): e3}
			}},
		{name: "newest sequence wins", want: [3]byte{0xdd, 0x11, 0x11}, entriesReplayed: 1,
			entries: func(f logFixture) map[int64][]byte {
				return map[int64][]byte{
					0:         mk(f, 5, 0, guid, logWrite{off: f.blockOff, data: pageOf(0xaa)}),
					256 << 10: mk(f, 9, 256<<10, guid, logWrite{off: f.blockOff, data: pageOf(0xdd)}),
				}
			}},
		{name: "head whose tail is outside its run is not a sequence", want: [3]byte{0xaa, 0x11, 0x11}, entriesReplayed: 1,
			entries: func(f logFixture) map[int64][]byte {
				return map[int64][]byte{
					0:         mk(f, 5, 0, guid, logWrite{off: f.blockOff, data: pageOf(0xaa)}),
					256 << 10: mk(f, 9, 512<<10, guid, logWrite{off: f.blockOff, data: pageOf(0xdd)}),
				}
			}},
		{name: "entry wraps around the log end", want: [3]byte{0xee, 0xef, 0x11}, entriesReplayed: 1,
			entries: func(f logFixture) map[int64][]byte {
				data := append(pageOf(0xee), pageOf(0xef)...)
				return map[int64][]byte{f.logLen - 8192: mk(f, 3, f.logLen-8192, guid, logWrite{off: f.blockOff, data: data})}
			}},
		{name: "bad checksum ignored", want: [3]byte{0x11, 0x11, 0x11},
			entries: func(f logFixture) map[int64][]byte {
				e := mk(f, 7, 0, guid, logWrite{off: f.blockOff, data: pageOf(0xaa)})
				e[5000] ^= 1
				return map[int64][]byte{0: e}
			}},
		{name: "other log GUID ignored", want: [3]byte{0x11, 0x11, 0x11},
			entries: func(f logFixture) map[int64][]byte {
				return map[int64][]byte{0: mk(f, 7, 0, other, logWrite{off: f.blockOff, data: pageOf(0xaa)})}
			}},
		{name: "file shorter than flushed offset", err: ErrLog,
			entries: func(f logFixture) map[int64][]byte {
				return map[int64][]byte{0: encodeLogEntry(logEntryParams{seq: 7, guid: guid, flushed: f.size + mib, last: f.size},
					[]logWrite{{off: f.blockOff, data: pageOf(0xaa)}})}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newLogFixture(t)
			f.dirty(t, guid, c.entries(f))
			before := fileSHA(t, f.path)
			var got [3]byte
			var d *Disk
			for i := range got {
				b, dd, err := readVirtual(t, f.path, int64(i)*4096, 1)
				if c.err != nil {
					if !errors.Is(err, c.err) {
						t.Fatalf("error %v, want %v", err, c.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got[i], d = b[0], dd
			}
			if got != c.want {
				t.Errorf("bytes %x, want %x", got, c.want)
			}
			if d.LogEntries != c.entriesReplayed || d.LogReplayed != (c.entriesReplayed > 0) {
				t.Errorf("replayed %d entries (%v), want %d", d.LogEntries, d.LogReplayed, c.entriesReplayed)
			}
			if fileSHA(t, f.path) != before {
				t.Fatal("opening wrote to the file")
			}
		})
	}
}
