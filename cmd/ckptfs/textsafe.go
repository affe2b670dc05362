package main

import "github.com/ckptfs/ckptfs/internal/names"

// escapeText makes guest data safe in text output (names.Escape): a name
// cannot forge a line or reach the terminal with an escape sequence.
func escapeText(s string) string { return names.Escape(s) }

// quoteName is escapeText in double quotes, for names inside messages.
func quoteName(s string) string { return `"` + escapeText(s) + `"` }
