package names

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape makes guest data (file names, labels, link targets, messages
// quoting them) safe to print as text: control characters (C0, DEL, C1),
// and bytes that are not UTF-8 become escapes (\n, \t, \x1b, \u0085), so a name cannot forge a line of output or send
// terminal escape sequences. --json output needs none of this: the JSON
// encoder escapes.
func Escape(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b == 0x7f || b >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
