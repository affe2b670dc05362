package catalog

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeName(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	tests := []struct{ in, want string }{
		{"Before update", "Before update"},
		{"a/b", "a_b"},
		{"a\x00b", "a_b"},
		{"tab\there", "tab_here"},
		{"", "_"},
		{".", "_."},
		{"..", "_.."},
		{"...", "..."},
		{".hidden", ".hidden"},
		{"bad\xffutf8", "bad_utf8"},
		{"Überprüfung: 10:15", "Überprüfung: 10:15"},
		{long, strings.Repeat("é", 127)},
	}
	for _, tc := range tests {
		if got := SafeName(tc.in); got != tc.want {
			t.Errorf("SafeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUniquify(t *testing.T) {
	got := Uniquify([]string{"A", "A", "a", "A (2)", "A", "x/y", "x_y", ".", "_."})
	want := []string{"A", "A (2)", "a", "A (2) (2)", "A (3)", "x_y", "x_y (2)", "_.", "_. (2)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Uniquify = %q, want %q", got, want)
	}
	long := strings.Repeat("z", 300)
	two := Uniquify([]string{long, long})
	if len(two[1]) > 255 || !strings.HasSuffix(two[1], " (2)") || two[0] == two[1] || !utf8.ValidString(two[1]) {
		t.Errorf("long clash: %d bytes %q", len(two[1]), two[1][len(two[1])-8:])
	}
}
