package ntfs

import "testing"

// TestDisplayNames: entries sorted by name, the first of each name (in
// index order) keeps it, a second one and names io/fs cannot carry are
// listed under the renaming rule, their stored name kept; ".." is left out.
func TestDisplayNames(t *testing.T) {
	in := []*dirEntry{
		{name: "b", ref: Ref{Record: 1}},
		{name: "a", ref: Ref{Record: 2}},
		{name: "b", ref: Ref{Record: 3}},
		{name: "B", ref: Ref{Record: 4}},
		{name: "a", ref: Ref{Record: 5}},
		{name: "x/y", ref: Ref{Record: 6}},
		{name: "..", ref: Ref{Record: 7}},
		{name: "nul\x00", ref: Ref{Record: 8}},
		{name: "x_y", ref: Ref{Record: 9}},
	}
	out := displayNames(in)
	want := []struct {
		name, orig string
		rec        uint64
	}{{"B", "", 4}, {"a", "", 2}, {"a (2)", "a", 5}, {"b", "", 1}, {"b (2)", "b", 3},
		{"nul_", "nul\x00", 8}, {"x_y", "", 9}, {"x_y (2)", "x/y", 6}}
	if len(out) != len(want) {
		t.Fatalf("%d entries, want %d", len(out), len(want))
	}
	for i, w := range want {
		d := out[i]
		if d.name != w.name || d.orig != w.orig || uint64(d.ref.Record) != w.rec {
			t.Errorf("entry %d: %q (stored %q, record %d), want %q (%q, %d)", i, d.name, d.orig, d.ref.Record, w.name, w.orig, w.rec)
		}
	}
}
