package ntfs

import "testing"

func TestSortedUnique(t *testing.T) {
	in := []*dirEntry{
		{name: "b", ref: Ref{Record: 1}},
		{name: "a", ref: Ref{Record: 2}},
		{name: "b", ref: Ref{Record: 3}},
		{name: "B", ref: Ref{Record: 4}},
		{name: "a", ref: Ref{Record: 5}},
	}
	out := sortedUnique(in)
	want := []struct {
		name string
		rec  uint64
	}{{"B", 4}, {"a", 2}, {"b", 1}}
	if len(out) != len(want) {
		t.Fatalf("%d entries, want %d", len(out), len(want))
	}
	for i, w := range want {
		d := out[i].(*dirEntry)
		if d.name != w.name || uint64(d.ref.Record) != w.rec {
			t.Errorf("entry %d: %s (record %d), want %s (record %d)", i, d.name, d.ref.Record, w.name, w.rec)
		}
	}
}
