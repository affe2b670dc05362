package jbd2

import (
	"bytes"
	"errors"
	"testing"
)

// volume is a 64 KiB volume of 1 KiB blocks, block n filled with byte n.
func volume() []byte {
	v := make([]byte, 64*1024)
	for i := range v {
		v[i] = byte(i / 1024)
	}
	return v
}

func replayBytes(t *testing.T, j []byte) *Log {
	t.Helper()
	l, err := Replay(bytes.NewReader(j), int64(len(j)), 1024)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func readAll(t *testing.T, l *Log, vol []byte) []byte {
	t.Helper()
	got := make([]byte, len(vol))
	// odd-sized reads across block edges, as a filesystem reader makes them
	r := l.Overlay(bytes.NewReader(vol), int64(len(vol)))
	for off := 0; off < len(got); off += 1000 {
		end := min(off+1000, len(got))
		if _, err := r.ReadAt(got[off:end], int64(off)); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

func TestReplayOrderRevokeEscape(t *testing.T) {
	for _, csum := range []bool{false, true} {
		j := newTestJournal(32, csum)
		j.txn([]uint64{3, 5}, [][]byte{fill(0xA3), fill(0xA5)}, nil)
		// block 3 logged again, then revoked by a later transaction
		// together with its first copy; block 5's newer copy wins
		j.txn([]uint64{5, 9, 3}, [][]byte{fill(0xB5), fill(0), fill(0xB3)}, nil)
		j.txn([]uint64{10}, [][]byte{fill(0xCA)}, []uint64{3})
		j.super(1)
		l := replayBytes(t, j.b)
		if l.Transactions != 3 || l.Blocks != 3 || l.Revoked != 2 || l.BadBlocks != 0 {
			t.Fatalf("csum %v: %+v", csum, l)
		}
		vol := volume()
		got := readAll(t, l, vol)
		want := volume()
		copy(want[5*1024:], fill(0xB5))
		copy(want[9*1024:], fill(0)) // the escaped block comes back with its magic
		copy(want[10*1024:], fill(0xCA))
		if !bytes.Equal(got, want) {
			t.Errorf("csum %v: replayed volume differs", csum)
		}
	}
}

func TestReplayStopsAtDamage(t *testing.T) {
	build := func() *testJournal {
		j := newTestJournal(32, true)
		j.txn([]uint64{3}, [][]byte{fill(0xA3)}, nil)
		j.txn([]uint64{4}, [][]byte{fill(0xA4)}, nil)
		j.super(1)
		return j
	}
	// a torn commit block: the second transaction never happened
	j := build()
	j.block(6)[100] ^= 1
	if l := replayBytes(t, j.b); l.Transactions != 1 || l.Blocks != 1 {
		t.Errorf("torn commit: %+v", l)
	}
	// a wrong data block: skipped, the rest replayed (as the kernel does)
	j = build()
	j.block(5)[7] ^= 1
	if l := replayBytes(t, j.b); l.Transactions != 2 || l.Blocks != 1 || l.BadBlocks != 1 {
		t.Errorf("bad data block: %+v", l)
	}
	// a stale sequence number ends the log
	j = build()
	j.block(4)[11] ^= 1
	if l := replayBytes(t, j.b); l.Transactions != 1 {
		t.Errorf("stale descriptor: %+v", l)
	}
	// a damaged superblock replays nothing and says so
	j = build()
	j.block(0)[0x18] ^= 1
	if _, err := Replay(bytes.NewReader(j.b), int64(len(j.b)), 1024); !errors.Is(err, ErrChecksum) {
		t.Errorf("damaged superblock: %v", err)
	}
	// a block size other than the filesystem's
	j = build()
	if _, err := Replay(bytes.NewReader(j.b), int64(len(j.b)), 4096); !errors.Is(err, ErrFormat) {
		t.Errorf("block size mismatch: %v", err)
	}
}

func TestReplayClean(t *testing.T) {
	j := newTestJournal(32, true)
	j.txn([]uint64{3}, [][]byte{fill(0xA3)}, nil)
	j.super(0)
	l := replayBytes(t, j.b)
	if l.Transactions != 0 || l.Blocks != 0 {
		t.Fatalf("clean journal replayed: %+v", l)
	}
	vol := volume()
	if got := readAll(t, l, vol); !bytes.Equal(got, vol) {
		t.Error("a clean journal changed the volume")
	}
}

func FuzzReplay(f *testing.F) {
	for _, csum := range []bool{false, true} {
		j := newTestJournal(16, csum)
		j.txn([]uint64{3, 5}, [][]byte{fill(0xA3), fill(0)}, nil)
		j.txn([]uint64{6}, [][]byte{fill(0xB6)}, []uint64{3})
		j.super(1)
		f.Add(j.b)
	}
	vol := volume()
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Replay(bytes.NewReader(b), int64(len(b)), 0)
		if err != nil {
			return
		}
		p := make([]byte, 3000)
		r := l.Overlay(bytes.NewReader(vol), int64(len(vol)))
		for off := int64(0); off < int64(len(vol)); off += 2999 {
			r.ReadAt(p, off) //nolint:errcheck // only panics matter here
		}
	})
}
