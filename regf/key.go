package regf

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

const (
	keyCompName  = 0x0020 // the key name is Latin-1, not UTF-16
	maxSubkeys   = 1 << 20
	maxValues    = 1 << 20
	maxListCells = 1 << 16 // lists in an ri index
)

// Key is a registry key.
type Key struct {
	h        *Hive
	off      uint32
	Name     string
	Modified time.Time
	nSub     uint32
	subList  uint32
	nValues  uint32
	valList  uint32
}

// Root returns the hive's root key.
func (h *Hive) Root() (*Key, error) {
	return h.key(h.root)
}

// key reads the nk cell at off.
func (h *Hive) key(off uint32) (*Key, error) {
	b, err := h.cell(off)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	if len(b) < 76 || string(b[:2]) != "nk" {
		return nil, formatErr(baseBlockSize+int64(off), "cell %#x is not a key", off)
	}
	nameLen := int(le.Uint16(b[72:]))
	if 76+nameLen > len(b) {
		return nil, formatErr(baseBlockSize+int64(off), "key name of %d bytes in a cell of %d", nameLen, len(b))
	}
	k := &Key{h: h, off: off,
		Name:     decodeName(b[76:76+nameLen], le.Uint16(b[2:])&keyCompName != 0),
		Modified: filetime(le.Uint64(b[4:])),
		nSub:     le.Uint32(b[20:]), subList: le.Uint32(b[28:]),
		nValues: le.Uint32(b[36:]), valList: le.Uint32(b[40:]),
	}
	// Each subkey and value takes at least a 4-byte list entry in the
	// file: larger counts are damage, and would cost a read each.
	if k.nSub > maxSubkeys || k.nValues > maxValues || int64(k.nSub)*4 > h.bins || int64(k.nValues)*4 > h.bins {
		return nil, formatErr(baseBlockSize+int64(off), "key %q with %d subkeys and %d values", k.Name, k.nSub, k.nValues)
	}
	return k, nil
}

// Subkeys returns the key's subkeys in the order of its list (sorted by
// name, as Windows keeps them).
func (k *Key) Subkeys() ([]*Key, error) {
	offs, err := k.subkeyOffsets()
	if err != nil {
		return nil, err
	}
	keys := make([]*Key, 0, len(offs))
	for _, off := range offs {
		sk, err := k.h.key(off)
		if err != nil {
			return nil, fmt.Errorf("subkey of %q: %w", k.Name, err)
		}
		keys = append(keys, sk)
	}
	return keys, nil
}

// Subkey returns the subkey of that name, matched without regard to case.
func (k *Key) Subkey(name string) (*Key, error) {
	offs, err := k.subkeyOffsets()
	if err != nil {
		return nil, err
	}
	for _, off := range offs {
		sk, err := k.h.key(off)
		if err != nil {
			return nil, fmt.Errorf("subkey of %q: %w", k.Name, err)
		}
		if strings.EqualFold(sk.Name, name) {
			return sk, nil
		}
	}
	return nil, fmt.Errorf("key %q has no subkey %q: %w", k.Name, name, ErrNotFound)
}

// Key returns the key at path below the root: names separated by
// backslashes (or slashes), matched without regard to case. "" is the
// root.
func (h *Hive) Key(path string) (*Key, error) {
	k, err := h.Root()
	if err != nil {
		return nil, err
	}
	path = strings.ReplaceAll(path, "/", `\`)
	for i, name := range strings.Split(strings.Trim(path, `\`), `\`) {
		if name == "" {
			continue
		}
		if i >= maxDepth {
			return nil, fmt.Errorf("regf: key path %q deeper than %d: %w", path, maxDepth, ErrNotFound)
		}
		if k, err = k.Subkey(name); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// subkeyOffsets reads the key's subkey list: an lf, lh or li list, or an
// ri index of such lists.
func (k *Key) subkeyOffsets() ([]uint32, error) {
	if k.nSub == 0 {
		return nil, nil
	}
	var offs []uint32
	if err := k.h.appendList(&offs, k.subList, true); err != nil {
		return nil, fmt.Errorf("subkeys of %q: %w", k.Name, err)
	}
	if uint32(len(offs)) != k.nSub {
		return nil, formatErr(baseBlockSize+int64(k.off), "key %q says %d subkeys, its list holds %d", k.Name, k.nSub, len(offs))
	}
	return offs, nil
}

// appendList appends the key offsets of the list cell at off; an ri index
// is followed when top is set (an index of indexes is not valid).
func (h *Hive) appendList(offs *[]uint32, off uint32, top bool) error {
	b, err := h.cell(off)
	if err != nil {
		return err
	}
	if len(b) < 4 {
		return formatErr(baseBlockSize+int64(off), "subkey list cell of %d bytes", len(b))
	}
	le := binary.LittleEndian
	n := int(le.Uint16(b[2:]))
	step := 8 // lf, lh: offset and hash
	sig := string(b[:2])
	switch sig {
	case "lf", "lh":
	case "li", "ri":
		step = 4
	default:
		return formatErr(baseBlockSize+int64(off), "cell %#x is not a subkey list (%q)", off, sig)
	}
	if 4+n*step > len(b) {
		return formatErr(baseBlockSize+int64(off), "subkey list of %d entries in a cell of %d bytes", n, len(b))
	}
	if sig == "ri" {
		if !top || n > maxListCells {
			return formatErr(baseBlockSize+int64(off), "subkey index nested or of %d lists", n)
		}
		for i := range n {
			if err := h.appendList(offs, le.Uint32(b[4+4*i:]), false); err != nil {
				return err
			}
		}
		return nil
	}
	if len(*offs)+n > maxSubkeys {
		return formatErr(baseBlockSize+int64(off), "more than %d subkeys", maxSubkeys)
	}
	for i := range n {
		*offs = append(*offs, le.Uint32(b[4+step*i:]))
	}
	return nil
}
