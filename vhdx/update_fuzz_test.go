package vhdx

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// FuzzOpenUpdate opens damaged copies of real files for in-place
// changes: a dynamic disk, and a differencing disk left with an active
// log by an update stopped after its commit point (so OpenUpdate applies
// it). The input's first byte picks the file; the rest is spliced over
// its structures as in FuzzVHDXOpen, and what is left after those areas
// lands on the log. Whatever OpenUpdate accepts must then take a small
// overwrite and commit, and leave a file the reader opens: errors are
// fine, panics and hangs are not. OpenUpdate writes, so each run works
// on a copy in a temporary folder.
func FuzzOpenUpdate(f *testing.F) {
	bases := updateFuzzBases(f)
	for i, b := range bases {
		f.Add(append([]byte{byte(i << 1)}, areasOf(b)...))
		in := append([]byte{byte(i<<1 | 1)}, areasOf(b)[1:]...)
		f.Add(append(in, b[newLogOff:newLogOff+8192]...))
	}
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		base := bases[int(in[0]>>1)%len(bases)]
		name := filepath.Join(t.TempDir(), "f.vhdx")
		if err := os.WriteFile(name, damaged(base, in), 0o644); err != nil {
			t.Fatal(err)
		}
		exerciseUpdate(name)
	})
}

// damaged lays in over base: in[0] bit 0 asks for checksums to be fixed
// (see splice), then the fuzz areas, then the log.
func damaged(base, in []byte) []byte {
	out := append([]byte(nil), base...)
	p := splice(base, in)
	for _, pt := range p.patches {
		copy(out[pt.off:], pt.data)
	}
	used := 1
	for _, a := range fuzzAreas {
		used += a.n
	}
	if len(in) > used {
		rest := in[used:]
		copy(out[newLogOff:newLogOff+min(len(rest), newLogLen)], rest)
	}
	return out
}

func exerciseUpdate(name string) {
	u, err := OpenUpdate(name)
	if err != nil {
		return
	}
	u.Pending()
	u.MaxPending()
	sec := u.SectorSize()
	if sec > 0 && sec <= 4096 && u.VirtualSize() >= sec {
		p := make([]byte, sec)
		u.Overwrite(p, 0)
		u.Fill(p, u.VirtualSize()-sec)
		u.Commit()
	}
	u.Close()
	if d, err := OpenDisk(name); err == nil {
		st, err := os.Stat(name)
		if err == nil {
			exercise(d.r, st.Size())
		}
		d.Close()
	}
}

var (
	updateBasesOnce sync.Once
	updateBases     [][]byte
)

// updateFuzzBases makes the two seed files once per process.
func updateFuzzBases(t testing.TB) [][]byte {
	updateBasesOnce.Do(func() {
		good := fuzzBase(t)
		updateBases = [][]byte{good, diffWithActiveLog(t, good)}
	})
	return updateBases
}

// diffWithActiveLog makes a differencing disk over a copy of parent,
// fills a few sectors and stops the commit right after its commit
// point, leaving the log for the next writer to apply.
func diffWithActiveLog(t testing.TB, parent []byte) []byte {
	dir := t.TempDir()
	pp := filepath.Join(dir, "p.vhdx")
	if err := os.WriteFile(pp, parent, 0o644); err != nil {
		t.Fatal(err)
	}
	pd, err := OpenDisk(pp)
	if err != nil {
		t.Fatal(err)
	}
	defer pd.Close()
	cp := filepath.Join(dir, "c.avhdx")
	w, err := Create(cp, CreateOptions{Parent: pd, ParentPath: pp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt(make([]byte, 4096), 3<<20); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	u, err := OpenUpdate(cp)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.OnDurable = func(step string) error {
		if step == "log active" {
			return errStop
		}
		return nil
	}
	buf := make([]byte, 8192)
	for i := range buf {
		buf[i] = byte(i)
	}
	if err := u.Fill(buf, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(); !errors.Is(err, errStop) {
		t.Fatalf("commit not stopped at its commit point: %v", err)
	}
	b, err := os.ReadFile(cp)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
