package vhdx

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// vhdReadLayers reads the whole virtual disk of a chain (top first) sector
// by sector through the blockMap contract only: block(), sectorBitmap() and
// the file bytes. It stands in for Chain.ReadAt in these tests.
func vhdReadLayers(layers ...*Disk) ([]byte, error) {
	top := layers[0]
	if top.VirtualSize > 256<<20 {
		return nil, fmt.Errorf("test reader: %d bytes is too big", top.VirtualSize)
	}
	out := make([]byte, top.VirtualSize)
	type key struct{ layer, block int64 }
	bitmaps := map[key][]byte{}
	ss := top.LogicalSectorSize
	for off := int64(0); off < top.VirtualSize; off += ss {
		for li, d := range layers {
			blk := off / d.BlockSize
			st, foff := d.BlockInfo(blk)
			inBlock := off % d.BlockSize
			switch st {
			case BlockAbsent:
				continue
			case BlockZero:
			case BlockInvalid:
				return nil, d.blocks.blockError(blk)
			case BlockPartial:
				k := key{int64(li), blk}
				bm, ok := bitmaps[k]
				if !ok {
					var err error
					if bm, err = d.SectorBitmap(blk); err != nil {
						return nil, err
					}
					bitmaps[k] = bm
				}
				sec := inBlock / ss
				if bm[sec/8]&(1<<(sec%8)) == 0 {
					continue
				}
				fallthrough
			case BlockPresent:
				if _, err := d.ReadFileAt(out[off:off+ss], foff+inBlock); err != nil {
					return nil, fmt.Errorf("layer %d block %d at 0x%x: %w", li, blk, foff+inBlock, err)
				}
			}
			break
		}
	}
	return out, nil
}

// vhdSample decompresses a sample image into a temporary folder.
func vhdSample(t *testing.T, name string) string { return testutil.UnpackSample(t, name) }

// vhdOpenBytes opens an image held in memory.
func vhdOpenBytes(img []byte) (*Disk, error) {
	return NewDisk(bytes.NewReader(img), int64(len(img)))
}

// rawUUID prints the 16 stored bytes in order, the way libvhdi shows VHD
// identifiers.
func rawUUID(g GUID) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", g[0:4], g[4:6], g[6:8], g[8:10], g[10:16])
}

// vhdiInfo runs vhdiinfo and returns its "key : value" lines.
func vhdiInfo(t *testing.T, name string) map[string]string {
	t.Helper()
	testutil.NeedTool(t, "vhdiinfo")
	out := testutil.Run(t, "vhdiinfo", name)
	m := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

// qemuRaw converts an image to raw with qemu-img and returns the bytes.
func qemuRaw(t *testing.T, name string) []byte {
	t.Helper()
	testutil.NeedTool(t, "qemu-img")
	raw := filepath.Join(t.TempDir(), "out.raw")
	testutil.Run(t, "qemu-img", "convert", "-f", "vpc", "-O", "raw", name, raw)
	b, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// firstDiff describes where two byte slices first differ.
func firstDiff(a, b []byte) string {
	if len(a) != len(b) {
		return fmt.Sprintf("lengths %d and %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			return fmt.Sprintf("first difference at byte 0x%x: %#02x vs %#02x", i, a[i], b[i])
		}
	}
	return "equal"
}
