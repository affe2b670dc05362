package fs

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSafeName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Before update", "Before update"},
		{"a/b", "a_b"},
		{"nul\x00byte", "nulbyte"},
		{"", "_"},
		{".", "_."},
		{"..", "_.."},
		{"\x00", "_"},
		{"...", "..."},
	} {
		if got := safeName(tc.in); got != tc.want {
			t.Errorf("safeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := strings.Repeat("é", 200) // 400 bytes
	got := safeName(long)
	if len(got) > maxName || !utf8.ValidString(got) {
		t.Errorf("safeName(long) = %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}

func TestUniquify(t *testing.T) {
	used := map[string]bool{}
	var got []string
	for _, n := range []string{"Now", "Now", "Now", "x"} {
		got = append(got, uniquify(n, used))
	}
	want := []string{"Now", "Now (2)", "Now (3)", "x"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
	long := strings.Repeat("a", maxName)
	used = map[string]bool{}
	uniquify(long, used)
	if second := uniquify(long, used); len(second) > maxName || !strings.HasSuffix(second, " (2)") {
		t.Errorf("second long name %q (%d bytes)", second, len(second))
	}
}

func TestTimeName(t *testing.T) {
	tm := time.Date(2026, 11, 20, 11, 15, 0, 0, time.FixedZone("CET", 3600))
	if got := timeName(tm); got != "2026-11-20T10.15.00" {
		t.Errorf("timeName = %q", got)
	}
}
