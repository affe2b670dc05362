package fs

import "time"

// timeName is the by-time name of a creation time.
func timeName(t time.Time) string {
	return t.UTC().Format("2006-01-02T15.04.05")
}
