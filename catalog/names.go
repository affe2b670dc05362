package catalog

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxNameBytes is Linux's NAME_MAX: the longest file name a directory entry
// can hold.
const maxNameBytes = 255

// SafeName turns a checkpoint, VM or disk name into one directory entry
// name. The rule, which the mount and the CLI share:
//   - "/", NUL, other control characters (below U+0020, and U+007F) and
//     bytes that are not valid UTF-8 each become "_";
//   - the empty name becomes "_", "." becomes "_." and ".." becomes "_..";
//   - a name longer than 255 bytes is cut at a character boundary.
//
// Everything else (spaces, colons, Unicode) is kept: the names are meant
// to look as Hyper-V shows them.
func SafeName(s string) string {
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
	return truncateName(out, maxNameBytes)
}

// truncateName cuts s to at most max bytes without splitting a character.
func truncateName(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}

// Namer hands out safe names unique within one directory. The zero value
// is ready to use.
type Namer struct {
	used map[string]bool
}

// Name returns SafeName(s), or, when that is taken in this directory, the
// first free of "name (2)", "name (3)", … (the base cut so the whole stays
// within 255 bytes). Names are compared exactly, as Linux does.
func (n *Namer) Name(s string) string {
	if n.used == nil {
		n.used = map[string]bool{}
	}
	base := SafeName(s)
	name := base
	for i := 2; n.used[name]; i++ {
		suffix := " (" + strconv.Itoa(i) + ")"
		name = truncateName(base, maxNameBytes-len(suffix)) + suffix
	}
	n.used[name] = true
	return name
}

// Reserve marks a name as taken (e.g. "Now", or fixed entries such as
// "by-time") without returning it.
func (n *Namer) Reserve(name string) {
	if n.used == nil {
		n.used = map[string]bool{}
	}
	n.used[name] = true
}

// Uniquify returns safe names for the given ones, in order, unique among
// themselves by the rule of Namer.Name: the first keeps its name, later
// clashes get " (2)", " (3)", ….
func Uniquify(names []string) []string {
	var n Namer
	out := make([]string, len(names))
	for i, s := range names {
		out[i] = n.Name(s)
	}
	return out
}
