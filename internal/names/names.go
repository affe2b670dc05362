// Package names holds the one rule that turns any name (a checkpoint, a
// VM, a disk, a guest file name Linux cannot show, a link target kept as
// one component) into a directory entry name. It is a leaf: catalog, guest
// and the CLI share it.
package names

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxBytes is Linux's NAME_MAX: the longest file name a directory entry
// can hold.
const MaxBytes = 255

// Safe turns a checkpoint, VM or disk name into one directory entry
// name. The rule, which the mount and the CLI share:
//   - "/", NUL, other control characters (below U+0020, and U+007F) and
//     bytes that are not valid UTF-8 each become "_";
//   - the empty name becomes "_", "." becomes "_." and ".." becomes "_..";
//   - a name longer than 255 bytes is cut at a character boundary.
//
// Everything else (spaces, colons, Unicode) is kept: the names are meant
// to look as Hyper-V shows them.
func Safe(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1, r == '/', r < 0x20, r == 0x7f:
			b.WriteByte('_')
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	out := b.String()
	switch out {
	case "":
		return "_"
	case ".", "..":
		return "_" + out
	}
	return Truncate(out, MaxBytes)
}

// Truncate cuts s to at most max bytes without splitting a character.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}

// Unique returns base, or when used holds it the first free of
// "base (2)", "base (3)", … (base cut so the whole fits MaxBytes), and
// marks the result used: the clash rule of every directory ckptfs names.
func Unique(base string, used map[string]bool) string {
	name := base
	for i := 2; used[name]; i++ {
		suffix := " (" + strconv.Itoa(i) + ")"
		name = Truncate(base, MaxBytes-len(suffix)) + suffix
	}
	used[name] = true
	return name
}
