package vhdx

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
)

// GUID is a 16-byte identifier as Windows writes it on disk: the first three
// fields little-endian, the last eight bytes in order.
type GUID [16]byte

// ParseGUID reads the text form "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", with or
// without braces, in either case.
func ParseGUID(s string) (GUID, error) {
	var g GUID
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "{"), "}")
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, fmt.Errorf("%w: bad GUID text %q", ErrFormat, s)
	}
	hex := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	var raw [16]byte
	for i := range raw {
		hi, ok1 := hexNibble(hex[2*i])
		lo, ok2 := hexNibble(hex[2*i+1])
		if !ok1 || !ok2 {
			return g, fmt.Errorf("%w: bad GUID text %q", ErrFormat, s)
		}
		raw[i] = hi<<4 | lo
	}
	// raw holds the fields in display (big-endian) order; swap the first three.
	g[0], g[1], g[2], g[3] = raw[3], raw[2], raw[1], raw[0]
	g[4], g[5] = raw[5], raw[4]
	g[6], g[7] = raw[7], raw[6]
	copy(g[8:], raw[8:])
	return g, nil
}

func mustGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err) // only used for compile-time constants
	}
	return g
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// String gives the lower-case text form without braces. Lower case because
// libvhdi rejects upper-case hex in parent linkage strings.
func (g GUID) String() string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(g[0:4]), binary.LittleEndian.Uint16(g[4:6]),
		binary.LittleEndian.Uint16(g[6:8]), g[8:10], g[10:16])
}

// IsZero reports whether every byte is zero.
func (g GUID) IsZero() bool { return g == GUID{} }

// NewGUID returns a random (version 4) GUID.
func NewGUID() GUID {
	var g GUID
	if _, err := rand.Read(g[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	g[7] = g[7]&0x0f | 0x40 // version 4 lives in the high nibble of the third field
	g[8] = g[8]&0x3f | 0x80
	return g
}
