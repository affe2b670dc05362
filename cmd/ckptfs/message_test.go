package main

import "testing"

func TestTidyMessage(t *testing.T) {
	cases := map[string]string{
		`checkpoint "X": catalog: no such checkpoint: "X"`:               `checkpoint "X": no such checkpoint: "X"`,
		`/etc/hostname: vhdx: invalid format at byte 0x0: no VHD footer`: `/etc/hostname: invalid format at byte 0x0: no VHD footer`,
		`refused: merge: refused: "Now" is the live state`:               `refused: "Now" is the live state`,
		`export: output exists: /tmp/x.raw (-f/--force replaces it)`:     `output exists: /tmp/x.raw (-f/--force replaces it)`,
		`Users/fs: file`: `Users/fs: file`,
		`open a: b`:      `open a: b`,
	}
	for in, want := range cases {
		if got := tidyMessage(in); got != want {
			t.Errorf("tidyMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlural(t *testing.T) {
	if plural(1, "layer") != "1 layer" || plural(4, "layer") != "4 layers" || plural(0, "disk file") != "0 disk files" || plural(2, "entry") != "2 entries" {
		t.Error(plural(1, "layer"), plural(4, "layer"), plural(0, "disk file"))
	}
}
