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
	optional := optionalPositionals(synopsis)
	if !repeats && len(got) > len(names)+len(optional) {
		if len(optional) > 0 {
			return fmt.Sprintf("too many arguments: %d given, at most %d expected (%s [%s]); quote names with spaces",
				len(got), len(names)+len(optional), strings.Join(names, " "), strings.Join(optional, " "))
		}
		return fmt.Sprintf("too many arguments: %d given, %d expected (%s); quote names with spaces",
			len(got), len(names), strings.Join(names, " "))
	}
	return "wrong number of arguments"
}

// optionalPositionals lists the bracketed positional arguments of a
// synopsis ("SRC [CHECKPOINT [VOL/PATH]] [--json]": CHECKPOINT VOL/PATH).
func optionalPositionals(synopsis string) []string {
	var out []string
	depth := 0
	afterOption := false // the token is an option's value ("[--base A]")
	for _, tok := range strings.Fields(synopsis) {
		inside := depth > 0 || strings.HasPrefix(tok, "[")
		depth += strings.Count(tok, "[") - strings.Count(tok, "]")
		name := strings.Trim(tok, "[]")
		if inside && !afterOption && name != "" && !strings.HasPrefix(name, "-") && strings.ToUpper(name) == name && !strings.Contains(name, "|") {
			out = append(out, name)
		}
		afterOption = strings.HasPrefix(name, "-") && !strings.HasSuffix(tok, "]")
	}
	return out
}
