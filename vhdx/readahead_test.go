package vhdx

import (
	"bytes"
	"math/rand"
	"path/filepath"
	"testing"
)

func TestReadAheadStreams(t *testing.T) {
	var ra readAhead
	type step struct {
		off, n   int64
		from, to int64
		inStream bool
	}
	const M = 1 << 20
	steps := []step{
		{off: 0, n: M}, // a new stream: nothing yet
		{off: M, n: M, from: 2 * M, to: 2*M + readAheadWindow, inStream: true},        // continued: load ahead
		{off: 2 * M, n: M, inStream: true},                                            // window still full
		{off: 5 * M, n: M, inStream: true},                                            // out of order within the slack
		{off: 4 * M, n: M, inStream: true},                                            // behind the end
		{off: 6 * M, n: 4 * M, inStream: true},                                        // end 10M: 8M of window left, not below half
		{off: 10 * M, n: M, from: 18 * M, to: 11*M + readAheadWindow, inStream: true}, // refill from where it stopped
		{off: 100 * M, n: M},                                                          // far away: a new stream
		{off: 103 * M, n: M},                                                          // near it but not exactly at its end: not established
	}
	for i, s := range steps {
		from, to, in := ra.next(s.off, s.n)
		if from != s.from || to != s.to || in != s.inStream {
			t.Fatalf("step %d (%d+%d): got [%d,%d) stream=%v, want [%d,%d) stream=%v", i, s.off, s.n, from, to, in, s.from, s.to, s.inStream)
		}
	}
}

// TestReadAheadRandom: uniformly random 4 KiB reads never pass for a
// stream, so they never load more than their own neighbourhood.
func TestReadAheadRandom(t *testing.T) {
	var ra readAhead
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 100000; i++ {
		off := rng.Int63n(1<<40/4096) * 4096
		if from, to, in := ra.next(off, 4096); in || to > from {
			t.Fatalf("read %d at %d: stream=%v prefetch [%d,%d)", i, off, in, from, to)
		}
	}
}

// TestReadAheadJumps: small reads far apart ahead of an established
// stream (a walk of NTFS records) do not continue it, so they do not grow
// its window.
func TestReadAheadJumps(t *testing.T) {
	var ra readAhead
	const K = 1 << 10
	ra.next(0, 16*K)
	if _, to, in := ra.next(16*K, 16*K); !in || to <= 32*K {
		t.Fatalf("second read: stream=%v to %d", in, to)
	}
	for off := int64(2600 * K); off < 100<<20; off += 2600 * K {
		if from, to, in := ra.next(off, 16*K); in || to > from {
			t.Fatalf("read at %d: stream=%v prefetch [%d,%d)", off, in, from, to)
		}
	}
}

// TestReadAheadSlots: parallel streams are followed up to streamSlots;
// one more replaces the least recently used.
func TestReadAheadSlots(t *testing.T) {
	var ra readAhead
	const gap = 1 << 30
	for k := int64(0); k <= streamSlots; k++ {
		ra.next(k*gap, 4096)
	}
	// Stream 0 was replaced by stream streamSlots; streams 1.. continue.
	for k := int64(1); k <= streamSlots; k++ {
		if _, _, in := ra.next(k*gap+4096, 4096); !in {
			t.Errorf("stream %d lost", k)
		}
	}
	if _, _, in := ra.next(4096, 4096); in {
		t.Error("the oldest stream survived")
	}
}

// TestPrefetchHints checks the hints of a generated chain: every data run
// of every layer is covered by a hint of that layer, and hints start and
// end on data.
func TestPrefetchHints(t *testing.T) {
	for _, s := range chainSpecs[:3] {
		t.Run(s.name, func(t *testing.T) {
			g := buildChain(t, t.TempDir(), s)
			c, err := OpenChain(g.files[len(g.files)-1], ChainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			rng := rand.New(rand.NewSource(5))
			for k := 0; k < 50; k++ {
				from := rng.Int63n(c.Size())
				to := from + rng.Int63n(8<<20)
				want := dataPieces(t, c, from, min(to, c.Size()))
				got := c.hints(from, to, nil)
				for _, p := range want {
					if !coveredBy(p, got) {
						t.Fatalf("[%d,%d): data of layer %d at file %d+%d not hinted (hints %v)", from, to, p.layer, p.off, p.end-p.off, got)
					}
				}
				for _, h := range got {
					if !startsAndEndsOnData(h, want) {
						t.Fatalf("[%d,%d): hint %+v does not start and end on data", from, to, h)
					}
				}
			}
		})
	}
}

// dataPieces lists the file ranges holding [from, to), the slow way: the
// owner of every sector.
func dataPieces(t *testing.T, c *Chain, from, to int64) []hint {
	var out []hint
	for pos := from; pos < to; {
		u := pos >> c.unitShift
		within := pos - u<<c.unitShift
		n := min(int64(1)<<c.unitShift-within, to-pos)
		ref := unitRef(c.units.get(u))
		switch ref.kind() {
		case unitData:
			out = append(out, hint{ref.layer(), ref.value()<<9 + within, ref.value()<<9 + within + n})
		case unitMixed:
			runs, err := c.runsOf(u)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range runs {
				s, e := max(r.start, within), min(r.end, within+n)
				if r.kind == unitData && s < e {
					out = append(out, hint{r.layer, r.fileOff + s - r.start, r.fileOff + e - r.start})
				}
			}
		}
		pos += n
	}
	return out
}

func coveredBy(p hint, hs []hint) bool {
	for _, h := range hs {
		if h.layer == p.layer && h.off <= p.off && p.end <= h.end {
			return true
		}
	}
	return false
}

func startsAndEndsOnData(h hint, data []hint) bool {
	var start, end bool
	for _, p := range data {
		if p.layer == h.layer {
			start = start || p.off == h.off
			end = end || p.end == h.end
		}
	}
	return start && end
}

// TestReadAround: a small read that continues no stream loads the 64 KiB
// around it only on a chain with a remote layer; a large one has its own
// range loaded either way.
func TestReadAround(t *testing.T) {
	const K = 1 << 10
	for _, c := range []struct {
		off, n   int64
		local    bool
		from, to int64
		ok       bool
	}{
		{off: 100 * K, n: 4 * K, local: false, from: 64 * K, to: 128 * K, ok: true},
		{off: 100 * K, n: 4 * K, local: true},
		{off: 100 * K, n: readAround, local: true},
		{off: 100 * K, n: 200 * K, local: true, from: 64 * K, to: 300 * K, ok: true},
		{off: 100 * K, n: 200 * K, local: false, from: 64 * K, to: 300 * K, ok: true},
	} {
		from, to, ok := around(c.off, c.n, c.local)
		if from != c.from || to != c.to || ok != c.ok {
			t.Errorf("around(%d, %d, local %v) = [%d,%d) %v, want [%d,%d) %v", c.off, c.n, c.local, from, to, ok, c.from, c.to, c.ok)
		}
	}
}

// TestPrefetchHintsFileOrder: a child whose blocks were allocated in the
// reverse of the disk's order (the guest wrote the end of a stretch
// first) has its runs of one stretch hinted as one range of its file, not
// one per block: each hint of a remote layer is a request.
func TestPrefetchHintsFileOrder(t *testing.T) {
	const M = 1 << 20
	dir := t.TempDir()
	w, err := Create(filepath.Join(dir, "base.vhdx"), CreateOptions{VirtualSize: 8 * M, BlockSize: M})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt(bytes.Repeat([]byte{1}, 8*M), 0); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	base, err := OpenDisk(filepath.Join(dir, "base.vhdx"))
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	w, err = Create(filepath.Join(dir, "child.avhdx"), CreateOptions{Parent: base, BlockSize: M})
	if err != nil {
		t.Fatal(err)
	}
	run := bytes.Repeat([]byte{2}, 7*M/8)
	for b := int64(7); b >= 0; b-- {
		// The last 7/8 of each block: runs 128 KiB apart in the file,
		// in the reverse of the disk's order.
		if _, err := w.WriteAt(run, b*M+M/8); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := OpenChain(filepath.Join(dir, "child.avhdx"), ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hs := c.hints(0, 8*M, nil)
	var child []hint
	for _, h := range hs {
		if h.layer == 0 {
			child = append(child, h)
		}
	}
	// Two: the first block allocated, then its sector bitmap block
	// (1 MiB), then the other seven (one hint each before they were
	// joined in file order: 8 in all).
	if len(child) != 2 {
		t.Errorf("child's runs in %d hints, want 2: %v", len(child), child)
	}
	want := dataPieces(t, c, 0, 8*M)
	for _, p := range want {
		if !coveredBy(p, hs) {
			t.Errorf("data of layer %d at %d+%d not hinted (%v)", p.layer, p.off, p.end-p.off, hs)
		}
	}
}

// TestJoinHintsGap: runs of one layer at most the gap apart in its file
// become one hint (one request of a remote layer), in file order
// whatever order they came in; runs further apart, or of two layers,
// stay apart; an empty run joins nothing it does not touch.
func TestJoinHintsGap(t *testing.T) {
	const K = 1 << 10
	gap := int64(256 * K)
	for _, c := range []struct {
		name string
		in   []hint
		want []hint
	}{
		{"at the gap", []hint{{1, 0, 4 * K}, {1, 4*K + gap, 8*K + gap}}, []hint{{1, 0, 8*K + gap}}},
		{"past the gap", []hint{{1, 0, 4 * K}, {1, 4*K + gap + 512, 8*K + gap}}, []hint{{1, 0, 4 * K}, {1, 4*K + gap + 512, 8*K + gap}}},
		{"two layers", []hint{{1, 0, 4 * K}, {2, 8 * K, 12 * K}}, []hint{{1, 0, 4 * K}, {2, 8 * K, 12 * K}}},
		{"out of order", []hint{{2, 900 * K, 904 * K}, {1, 512 * K, 516 * K}, {2, 700 * K, 704 * K}, {1, 0, 4 * K}},
			[]hint{{1, 0, 4 * K}, {1, 512 * K, 516 * K}, {2, 700 * K, 904 * K}}},
		{"inside another", []hint{{1, 0, 64 * K}, {1, 8 * K, 12 * K}}, []hint{{1, 0, 64 * K}}},
		{"empty", []hint{{1, 0, 4 * K}, {1, 4 * K, 4 * K}, {1, 2048 * K, 2048 * K}}, []hint{{1, 0, 4 * K}, {1, 2048 * K, 2048 * K}}},
		{"none", nil, nil},
	} {
		got := joinHints(append([]hint(nil), c.in...), gap)
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
				break
			}
		}
	}
}
