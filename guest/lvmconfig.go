package guest

import (
	"fmt"
	"strconv"
)

// The LVM2 metadata text: sections `name { ... }` holding sections and
// assignments `key = value`, where a value is a quoted string, an integer
// or a list `[ v, v ]` of those, with # comments. parseLVMConfig reads it
// with a bounded depth; it keeps only what lvmGroupOf asks for.

// lvmSection is one `name { ... }` (or the whole text).
type lvmSection struct {
	order    []string // section names, in order
	sections map[string]*lvmSection
	values   map[string]any // string, int64 or []any
}

const lvmMaxDepth = 16

func (s *lvmSection) int(k string) (int64, bool) {
	v, ok := s.values[k].(int64)
	return v, ok
}

func (s *lvmSection) str(k string) string {
	v, _ := s.values[k].(string)
	return v
}

func (s *lvmSection) list(k string) []any {
	v, _ := s.values[k].([]any)
	return v
}

// hasFlag reports whether list k holds the string f.
func (s *lvmSection) hasFlag(k, f string) bool {
	for _, v := range s.list(k) {
		if v == f {
			return true
		}
	}
	return false
}

type lvmParser struct {
	b   []byte
	pos int
}

func parseLVMConfig(b []byte) (*lvmSection, error) {
	p := &lvmParser{b: b}
	s, err := p.section(0)
	if err != nil {
		return nil, err
	}
	if p.skip(); p.pos < len(p.b) {
		return nil, p.errorf("unexpected %q", p.b[p.pos])
	}
	return s, nil
}

func (p *lvmParser) errorf(format string, args ...any) error {
	return formatErr(int64(p.pos), "lvm2 metadata: "+format, args...)
}

// skip passes blanks and comments.
func (p *lvmParser) skip() {
	for p.pos < len(p.b) {
		switch c := p.b[p.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.pos++
		case c == '#':
			for p.pos < len(p.b) && p.b[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

func isLVMNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '+' || c == '.'
}

// section reads entries up to a closing brace (or the end, at depth 0).
func (p *lvmParser) section(depth int) (*lvmSection, error) {
	if depth > lvmMaxDepth {
		return nil, p.errorf("sections nested more than %d deep", lvmMaxDepth)
	}
	s := &lvmSection{sections: map[string]*lvmSection{}, values: map[string]any{}}
	for {
		p.skip()
		if p.pos >= len(p.b) {
			if depth > 0 {
				return nil, p.errorf("a section is not closed")
			}
			return s, nil
		}
		if p.b[p.pos] == '}' {
			if depth == 0 {
				return nil, p.errorf("a brace closes nothing")
			}
			p.pos++
			return s, nil
		}
		start := p.pos
		for p.pos < len(p.b) && isLVMNameByte(p.b[p.pos]) {
			p.pos++
		}
		if p.pos == start {
			return nil, p.errorf("unexpected %q", p.b[p.pos])
		}
		name := string(p.b[start:p.pos])
		p.skip()
		if p.pos >= len(p.b) {
			return nil, p.errorf("%s ends the text", name)
		}
		switch p.b[p.pos] {
		case '{':
			p.pos++
			sub, err := p.section(depth + 1)
			if err != nil {
				return nil, err
			}
			if _, dup := s.sections[name]; !dup {
				s.order = append(s.order, name)
			}
			s.sections[name] = sub
		case '=':
			p.pos++
			v, err := p.value(true)
			if err != nil {
				return nil, err
			}
			s.values[name] = v
		default:
			return nil, p.errorf("%q after %s", p.b[p.pos], name)
		}
	}
}

// value reads a string, an integer, or (when lists are allowed) a list.
func (p *lvmParser) value(lists bool) (any, error) {
	p.skip()
	if p.pos >= len(p.b) {
		return nil, p.errorf("a value is missing")
	}
	switch c := p.b[p.pos]; {
	case c == '"':
		return p.str()
	case c == '[' && lists:
		p.pos++
		var out []any
		for {
			p.skip()
			if p.pos < len(p.b) && p.b[p.pos] == ']' {
				p.pos++
				return out, nil
			}
			v, err := p.value(false)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			p.skip()
			if p.pos < len(p.b) && p.b[p.pos] == ',' {
				p.pos++
			}
		}
	case c == '-' || c >= '0' && c <= '9':
		start := p.pos
		for p.pos < len(p.b) && (p.b[p.pos] == '-' || p.b[p.pos] == '.' || p.b[p.pos] >= '0' && p.b[p.pos] <= '9') {
			p.pos++
		}
		n, err := strconv.ParseInt(string(p.b[start:p.pos]), 10, 64)
		if err != nil {
			return string(p.b[start:p.pos]), nil // a float: kept as text, never used
		}
		return n, nil
	}
	return nil, p.errorf("unexpected %q in a value", p.b[p.pos])
}

// str reads a quoted string with \" and \\ escapes.
func (p *lvmParser) str() (string, error) {
	p.pos++ // the opening quote
	var out []byte
	for p.pos < len(p.b) {
		c := p.b[p.pos]
		p.pos++
		switch {
		case c == '"':
			return string(out), nil
		case c == '\\' && p.pos < len(p.b):
			out = append(out, p.b[p.pos])
			p.pos++
		default:
			out = append(out, c)
		}
	}
	return "", fmt.Errorf("lvm2 metadata: a string is not closed: %w", ErrFormat)
}
