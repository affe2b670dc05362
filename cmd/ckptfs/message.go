package main

import (
	"fmt"
	"strings"
)

// packagePrefixes are the "pkg: " prefixes our packages' sentinel errors
// carry (as Go's own do: "zip: not a valid zip file"). They help a
// program telling errors apart and mean nothing to a user, who is told
// which command failed already.
var packagePrefixes = []string{"catalog", "vhdx", "ntfs", "guest", "merge", "export", "diff", "mount", "fs",
	"ext", "xfs", "btrfs", "bitlocker", "luks", "vss", "nbd", "xpress", "lzx"}

// tidyMessage drops package prefixes at the start of each part of an
// error chain ("a: catalog: no such checkpoint" reads "a: no such
// checkpoint") and a part that repeats the one before it ("refused:
// refused: ..." from two layers saying the same).
func tidyMessage(msg string) string {
	parts := strings.Split(msg, ": ")
	out := parts[:0]
	for _, p := range parts {
		if isPackagePrefix(p) {
			continue
		}
		if len(out) > 0 && out[len(out)-1] == p {
			continue
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return msg
	}
	return strings.Join(out, ": ")
}

func isPackagePrefix(s string) bool {
	for _, p := range packagePrefixes {
		if s == p {
			return true
		}
	}
	return false
}

// plural writes "1 layer", "3 layers", "2 entries".
func plural(n int, word string) string {
	switch {
	case n == 1:
		return fmt.Sprintf("%d %s", n, word)
	case strings.HasSuffix(word, "y"):
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(word, "y"))
	}
	return fmt.Sprintf("%d %ss", n, word)
}
