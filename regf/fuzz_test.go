package regf

import (
	"bytes"
	"os"
	"testing"
)

// FuzzHive opens any bytes as a hive and walks what it can (a bounded
// number of keys, since a damaged list may lead back to an ancestor),
// reading every value: errors are fine, panics and hangs are not.
func FuzzHive(f *testing.F) {
	f.Add(minimalHive())
	big, _ := hiveWithBigValue(20000)
	f.Add(big)
	if b, err := os.ReadFile("testdata/hivex.hive"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) >= 512 {
			// Mostly behind a valid checksum, or little but the base
			// block would ever be read.
			b = bytes.Clone(b)
			if b[0]&1 == 0 {
				putChecksum(b)
			}
		}
		h, err := NewHive(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		root, err := h.Root()
		if err != nil {
			return
		}
		budget := 2000
		var walk func(k *Key, depth int)
		walk = func(k *Key, depth int) {
			if budget--; budget < 0 || depth > 16 {
				return
			}
			for _, v := range must(k.Values()) {
				_ = v.String()
			}
			k.Value("x")
			k.Subkey("y")
			for _, s := range must(k.Subkeys()) {
				if budget--; budget < 0 {
					return
				}
				walk(s, depth+1)
			}
		}
		walk(root, 0)
		h.Key(`a\b\c`)
	})
}

func must[T any](v []T, _ error) []T { return v }
