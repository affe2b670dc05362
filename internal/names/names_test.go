package names

import "testing"

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain name.txt":   "plain name.txt",
		"Überweisung ä":    "Überweisung ä",
		"two\nlines":       `two\nlines`,
		"esc\x1b[2Jclear":  `esc\x1b[2Jclear`,
		"tab\tcr\r":        `tab\tcr\r`,
		"bad\xffutf8":      `bad\xffutf8`,
		"c1\u0085next":     `c1\u0085next`,
		"del\x7f":          `del\x7f`,
		`C:\Windows\x`:     `C:\Windows\x`,
		"nul\x00in a name": `nul\x00in a name`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSafe(t *testing.T) {
	for in, want := range map[string]string{"a/b": "a_b", "x\x00y": "x_y", ".": "_.", "..": "_..", "": "_", "ok": "ok"} {
		if got := Safe(in); got != want {
			t.Errorf("Safe(%q) = %q, want %q", in, got, want)
		}
	}
}
