package main

import (
	"fmt"
	"strings"
)

// positionals lists the positional arguments of a synopsis such as
// "SRC CHECKPOINT VOL/PATH... DEST [--json]": the required names, and
// whether one of them repeats. Options and bracketed parts are skipped.
func positionals(synopsis string) (names []string, repeats bool) {
	depth := 0
	for _, tok := range strings.Fields(synopsis) {
		open := depth > 0 || strings.HasPrefix(tok, "[")
		depth += strings.Count(tok, "[") - strings.Count(tok, "]")
		if open || strings.HasPrefix(tok, "-") || strings.Contains(tok, "|--") {
			continue
		}
		if strings.HasSuffix(tok, "...") {
			repeats = true
		}
		names = append(names, strings.TrimSuffix(tok, "..."))
	}
	return names, repeats
}

// argsProblem says what is wrong with the positional arguments given:
// which one is missing, or that there are too many.
func argsProblem(synopsis string, got []string) string {
	names, repeats := positionals(synopsis)
	if len(got) < len(names) {
		missing := names[len(got):]
		if len(missing) == 1 {
			return "missing argument " + missing[0]
		}
		return "missing arguments " + strings.Join(missing, " ")
	}
	if !repeats && len(got) > len(names) {
		return fmt.Sprintf("too many arguments: %d given, %d expected (%s); quote names with spaces",
			len(got), len(names), strings.Join(names, " "))
	}
	return "wrong number of arguments"
}
