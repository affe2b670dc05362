package catalog

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// ValueKind says what a ConfigNode holds.
type ValueKind uint8

// Value kinds, shared by the binary (.vmcx) and XML configurations.
const (
	KindNode   ValueKind = iota // a key with children and no value
	KindInt                     // signed integer (Int)
	KindUint                    // unsigned integer (Uint)
	KindDouble                  // floating point (Float)
	KindString                  // text (Str)
	KindBytes                   // raw bytes (Bytes)
	KindBool                    // boolean (Bool)
)

// ConfigNode is one key of a VM configuration tree. Hyper-V stores its
// configuration as nested keys whatever the file format, so both parsers
// produce this tree and one extractor reads it.
type ConfigNode struct {
	Key      string
	Kind     ValueKind
	Int      int64
	Uint     uint64
	Float    float64
	Str      string
	Bytes    []byte
	Bool     bool
	Children []*ConfigNode
}

// Child returns the child with the given key, compared case-insensitively
// (Hyper-V writes GUID keys in either case), or nil.
func (n *ConfigNode) Child(key string) *ConfigNode {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if strings.EqualFold(c.Key, key) {
			return c
		}
	}
	return nil
}

// Path walks down the keys one by one and returns nil when one is missing.
func (n *ConfigNode) Path(keys ...string) *ConfigNode {
	for _, k := range keys {
		n = n.Child(k)
	}
	return n
}

// Text returns the value as text ("" for nodes and nil): strings as they
// are, numbers in decimal, bytes in base64 as the XML files write them.
func (n *ConfigNode) Text() string {
	if n == nil {
		return ""
	}
	switch n.Kind {
	case KindInt:
		return strconv.FormatInt(n.Int, 10)
	case KindUint:
		return strconv.FormatUint(n.Uint, 10)
	case KindDouble:
		return strconv.FormatFloat(n.Float, 'g', -1, 64)
	case KindString:
		return n.Str
	case KindBytes:
		return base64.StdEncoding.EncodeToString(n.Bytes)
	case KindBool:
		return strconv.FormatBool(n.Bool)
	}
	return ""
}

// Integer returns the value as an integer when it is one (or a string of
// decimal digits, as old XML files sometimes hold).
func (n *ConfigNode) Integer() (int64, bool) {
	if n == nil {
		return 0, false
	}
	switch n.Kind {
	case KindInt:
		return n.Int, true
	case KindUint:
		return int64(n.Uint), true
	case KindString:
		v, err := strconv.ParseInt(strings.TrimSpace(n.Str), 10, 64)
		return v, err == nil
	}
	return 0, false
}

// Dump writes the tree as indented "key = value" lines; for debugging and
// golden tests.
func (n *ConfigNode) Dump(sb *strings.Builder, depth int) {
	if n == nil {
		return
	}
	pad := strings.Repeat("  ", depth)
	if n.Kind == KindNode {
		fmt.Fprintf(sb, "%s%s/\n", pad, n.Key)
	} else {
		fmt.Fprintf(sb, "%s%s = %q\n", pad, n.Key, n.Text())
	}
	for _, c := range n.Children {
		c.Dump(sb, depth+1)
	}
}

// List returns the children, or nil for a nil node, so lookups can chain.
func (n *ConfigNode) List() []*ConfigNode {
	if n == nil {
		return nil
	}
	return n.Children
}
