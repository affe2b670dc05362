package fs

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// maxName is the longest name Linux accepts for one path component.
const maxName = 255

// safeName turns a name taken from catalog or guest data into one path
// component (rule in the package documentation). It is the single place to
// swap for catalog.SafeName once that lands.
func safeName(s string) string {
	s = strings.ReplaceAll(s, "\x00", "")
	s = strings.ReplaceAll(s, "/", "_")
	switch s {
	case "":
		return "_"
	case ".", "..":
		return "_" + s
	}
	return clipName(s, maxName)
}

// clipName cuts s to at most n bytes without splitting a UTF-8 sequence.
func clipName(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s[len(s)-utf8.UTFMax:]) {
		r, size := utf8.DecodeLastRuneInString(s)
		if r != utf8.RuneError {
			break
		}
		s = s[:len(s)-size]
	}
	return s
}

// uniquify returns name, or name with " (N)" appended, so that it is not in
// used, and records the result in used.
func uniquify(name string, used map[string]bool) string {
	cand := name
	for i := 2; used[cand]; i++ {
		suffix := fmt.Sprintf(" (%d)", i)
		cand = clipName(name, maxName-len(suffix)) + suffix
	}
	used[cand] = true
	return cand
}

// timeName is the by-time name of a creation time.
func timeName(t time.Time) string {
	return t.UTC().Format("2006-01-02T15.04.05")
}
