package guest

import (
	"path"
	"slices"
	"strings"

	"github.com/ckptfs/ckptfs/internal/names"
)

// UnresolvedDir is the name, at a volume's root, under which links that
// cannot be mapped into the volume dangle. Guest data never decides where
// such a link points: its whole target becomes one component below it.
const UnresolvedDir = ".ckptfs-unresolved"

// RewriteLink maps the target of a guest symlink or junction to a target
// that can never resolve outside the volume directory. linkPath is the
// link's slash-separated path inside the volume; raw is the target as the
// guest stored it. The rule:
//
//  1. NUL bytes are dropped. On Windows volumes (NTFS) the prefixes \??\,
//     \\?\ and \\.\ are dropped and backslashes become slashes; rules 2 and
//     3 apply to Windows volumes only, except the leading slash. On POSIX
//     volumes (ext) a backslash is part of a name.
//  2. A target with a drive letter ("C:\x") or a leading slash is taken from
//     the volume root: which volume carried the letter is not recorded, so
//     the link's own volume is assumed.
//  3. UNC targets (\\server\share, \??\UNC\...), volume GUID paths
//     (\??\Volume{...}, or Volume{GUID} without the prefix), any other
//     NT namespace path (\??\ not followed by a drive letter) and
//     drive-relative forms ("C:x") cannot be mapped:
//     the link dangles at <volume root>/.ckptfs-unresolved/<raw target as
//     one component>.
//  4. Other targets are relative to the link's directory. One made of
//     leading ".." components (no more than the link's depth) and then
//     only names is kept as the guest wrote it, cleaned: the leading ".."
//     climb real directories, which cannot leave the volume.
//  5. The path is cleaned lexically; ".." at the volume root stays at the
//     root (it is clipped, as "/.." is "/").
//  6. Otherwise the result is relative: one ".." per directory level of
//     the link, then the cleaned components ("." for the root itself).
//
// The mount and `ckptfs cp` both apply it (cp then keeps the result
// inside the copied tree).
//
// Since the result climbs through real directories at most to the volume
// root and then only descends, and every link met on the way down obeys
// the same rule, no resolution can leave the volume directory.
func RewriteLink(linkPath, raw string, windows bool) string {
	dir := splitPath(path.Dir(linkPath))
	t := strings.ReplaceAll(raw, "\x00", "")
	prefixed := false
	if windows {
		for _, p := range []string{`\??\`, `\\?\`, `\\.\`} {
			if strings.HasPrefix(t, p) {
				t, prefixed = t[len(p):], true
				break
			}
		}
		t = strings.ReplaceAll(t, `\`, "/")
	}
	var comps []string
	fromRoot := true
	switch {
	case !windows && strings.HasPrefix(t, "/"):
		comps = splitPath(t)
	case !windows:
		fromRoot = false
	case strings.HasPrefix(t, "//"),
		prefixed && !hasDrive(t),
		isVolumeGUIDPath(t):
		return unresolved(len(dir), raw)
	case hasDrive(t):
		if len(t) > 2 && t[2] != '/' {
			return unresolved(len(dir), raw)
		}
		comps = splitPath(t[2:])
	case strings.HasPrefix(t, "/"):
		comps = splitPath(t)
	default:
		fromRoot = false
	}
	if !fromRoot {
		rel := splitPath(t)
		up := 0
		for up < len(rel) && rel[up] == ".." {
			up++
		}
		if up <= len(dir) && !slices.Contains(rel[up:], "..") {
			// Climbing through real directories no higher than the volume
			// root, then only descending: the guest's own text (cleaned)
			// already stays inside.
			if len(rel) == 0 {
				return "."
			}
			return strings.Join(rel, "/")
		}
		comps = append(append([]string{}, dir...), rel...)
	}
	out := make([]string, 0, len(dir)+len(comps))
	for range dir {
		out = append(out, "..")
	}
	out = append(out, cleanComps(comps)...)
	if len(out) == 0 {
		return "."
	}
	return strings.Join(out, "/")
}

// splitPath splits a slash path into its non-empty components.
func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// cleanComps resolves "." and ".." lexically, clipping at the root.
func cleanComps(comps []string) []string {
	out := comps[:0:0]
	for _, c := range comps {
		switch c {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, c)
		}
	}
	return out
}

func unresolved(depth int, raw string) string {
	name := strings.ReplaceAll(strings.ReplaceAll(raw, "\x00", ""), "/", `\`)
	var b strings.Builder
	for range depth {
		b.WriteString("../")
	}
	b.WriteString(UnresolvedDir + "/")
	b.WriteString(names.Safe(name))
	return b.String()
}

// isVolumeGUIDPath matches "Volume{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}"
// at the start of t, the form a junction to a volume takes once its \??\
// prefix is gone (package ntfs strips it).
func isVolumeGUIDPath(t string) bool {
	const n = len("Volume{") + 36
	return len(t) > n && hasPrefixFold(t, "Volume{") && t[n] == '}'
}

func hasDrive(t string) bool {
	return len(t) >= 2 && t[1] == ':' &&
		(t[0] >= 'A' && t[0] <= 'Z' || t[0] >= 'a' && t[0] <= 'z')
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
