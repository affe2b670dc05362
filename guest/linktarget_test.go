package guest

import (
	"strings"
	"testing"
)

func TestRewriteLink(t *testing.T) {
	for _, tc := range []struct{ link, raw, want string }{
		// relative targets stay relative
		{"a/b/link", `..\c\file`, "../c/file"},
		{"a/b/link", `../../c`, "../../c"},
		{"a/b/link", `../x/../c`, "../../a/c"},
		{"a/b/link", `../../../c`, "../../c"},
		{"link", `dir\file`, "dir/file"},
		{"a/link", `.`, "."},
		{"a/b/link", `base`, "base"},
		{"a/b/link", `./sub//x/.`, "sub/x"},
		// absolute Windows and POSIX-style targets: from the volume root
		{"a/b/link", `\??\C:\Users\alice`, "../../Users/alice"},
		{"a/link", `C:\`, ".."},
		{"link", `C:\`, "."},
		{"link", `/etc/passwd`, "etc/passwd"},
		{"a/link", `\\?\D:\data`, "../data"},
		// escaping upwards is clipped at the volume root
		{"a/link", `..\..\..\..\etc\shadow`, "../etc/shadow"},
		{"link", `../../x`, "x"},
		{"a/b/link", `\??\C:\..\..\x`, "../../x"},
		// unmappable: dangle inside the volume
		{"a/link", `\\server\share\x`, `../.ckptfs-unresolved/\\server\share\x`},
		{"link", `\??\UNC\server\share`, `.ckptfs-unresolved/\??\UNC\server\share`},
		{"link", `\??\Volume{0f6a-11}\x`, `.ckptfs-unresolved/\??\Volume{0f6a-11}\x`},
		{"a/link", `Volume{01234567-89ab-cdef-0123-456789abcdef}/x`, `../.ckptfs-unresolved/Volume{01234567-89ab-cdef-0123-456789abcdef}\x`},
		{"link", `C:relative`, `.ckptfs-unresolved/C:relative`},
		// any other NT namespace path, raw or as ntfs.Reparse.Target gives it
		{"link", `\??\GLOBALROOT\Device\HarddiskVolume1\x`, `.ckptfs-unresolved/\??\GLOBALROOT\Device\HarddiskVolume1\x`},
		{"a/link", `//?/GLOBALROOT/Device/x`, `../.ckptfs-unresolved/\\?\GLOBALROOT\Device\x`},
		{"link", `//srv/share/x`, `.ckptfs-unresolved/\\srv\share\x`},
		{"link", `//x/..`, `.ckptfs-unresolved/\\x\..`},
	} {
		if got := RewriteLink(tc.link, tc.raw, true); got != tc.want {
			t.Errorf("RewriteLink(%q, %q) = %q, want %q", tc.link, tc.raw, got, tc.want)
		}
		checkConfined(t, tc.link, tc.raw)
	}
}

// TestRewritePOSIXLink checks the rules for ext links: backslashes and
// drive letters are plain name characters.
func TestRewritePOSIXLink(t *testing.T) {
	for _, tc := range []struct{ link, raw, want string }{
		{"a/link", `x\y`, `x\y`},
		{"a/link", `C:\x`, `C:\x`},
		{"a/b/link", `/etc/passwd`, "../../etc/passwd"},
		{"a/b/link", `/`, "../.."},
		{"link", `//x/../../y`, "y"},
		{"a/b/link", `../../../../etc`, "../../etc"},
		{"a/b/link", `../x`, "../x"},
		{"a/link", `\\server\share`, `\\server\share`},
	} {
		if got := RewriteLink(tc.link, tc.raw, false); got != tc.want {
			t.Errorf("RewriteLink(%q, %q, posix) = %q, want %q", tc.link, tc.raw, got, tc.want)
		}
	}
}

// checkConfined resolves the rewritten target lexically from the link's
// directory and fails if it ever climbs above the volume root.
func checkConfined(t *testing.T, link, raw string) {
	t.Helper()
	got := RewriteLink(link, raw, true)
	if strings.HasPrefix(got, "/") || strings.ContainsRune(got, 0) {
		t.Fatalf("RewriteLink(%q, %q) = %q: absolute or NUL", link, raw, got)
	}
	depth := len(splitPath(link)) - 1
	for _, c := range strings.Split(got, "/") {
		switch c {
		case "..":
			depth--
		case ".", "":
		default:
			depth++
		}
		if depth < 0 {
			t.Fatalf("RewriteLink(%q, %q) = %q leaves the volume", link, raw, got)
		}
	}
}

func FuzzRewriteLink(f *testing.F) {
	for _, s := range []string{`..\..\x`, `\??\C:\a`, `\\srv\s`, `a/../..`, `C:x`, `\??\UNC\a`, ""} {
		f.Add("a/b/link", s)
	}
	f.Fuzz(func(t *testing.T, link, raw string) {
		// Link paths are guest names joined by the tree, which drops
		// names with NUL (validName).
		link = strings.Join(cleanComps(splitPath(strings.ReplaceAll(link, "\x00", ""))), "/")
		if link == "" {
			link = "link"
		}
		checkConfined(t, link, raw)
	})
}
