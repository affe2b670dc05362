package ntfs

import (
	"encoding/binary"
	"fmt"
	"io"
	"unicode"
)

// upcaseRecord is the MFT record of $UpCase, the table NTFS uses to compare
// names without regard to case.
const upcaseRecord = 10

// loadUpcase reads the $UpCase table. Should it be unreadable, a table
// built from Go's simple case mapping stands in: lookups may then miss
// names whose case folding differs, but listings are unaffected.
func (v *Volume) loadUpcase() []uint16 {
	v.upOnce.Do(func() {
		up, err := v.readUpcase()
		if err != nil {
			up = make([]uint16, 65536)
			for i := range up {
				r := unicode.ToUpper(rune(i))
				if r > 0xFFFF {
					r = rune(i)
				}
				up[i] = uint16(r)
			}
		}
		v.upcase = up
	})
	return v.upcase
}

func (v *Volume) readUpcase() ([]uint16, error) {
	n, err := v.node(upcaseRecord)
	if err != nil {
		return nil, err
	}
	s, err := n.stream("")
	if err != nil {
		return nil, err
	}
	if s.size != 65536*2 {
		return nil, fmt.Errorf("ntfs: $UpCase of %d bytes", s.size)
	}
	b := make([]byte, s.size)
	if _, err := s.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, err
	}
	up := make([]uint16, 65536)
	for i := range up {
		up[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return up, nil
}

// collate orders two UTF-16LE names as NTFS filename indexes do: by their
// upper-cased code units, then (for names differing only in case, which
// POSIX-namespace names allow) by the code units themselves.
func collate(a, b []byte, up []uint16) int {
	n := min(len(a), len(b)) / 2
	for i := 0; i < n; i++ {
		x, y := up[binary.LittleEndian.Uint16(a[2*i:])], up[binary.LittleEndian.Uint16(b[2*i:])]
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	for i := 0; i < n; i++ {
		x, y := binary.LittleEndian.Uint16(a[2*i:]), binary.LittleEndian.Uint16(b[2*i:])
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// collateFold orders two UTF-16LE names by their upper-cased code units
// only: names differing only in case compare equal.
func collateFold(a, b []byte, up []uint16) int {
	n := min(len(a), len(b)) / 2
	for i := 0; i < n; i++ {
		x, y := up[binary.LittleEndian.Uint16(a[2*i:])], up[binary.LittleEndian.Uint16(b[2*i:])]
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}
