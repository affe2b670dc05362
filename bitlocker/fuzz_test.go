package bitlocker

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// fuzzSeedBlocks returns metadata copies cut small (the block, its
// validation header and a little more): from built volumes always, and
// from the Windows-made samples when they are there.
func fuzzSeedBlocks(f *testing.F) (blocks [][]byte, beks [][]byte) {
	for _, spec := range []volSpec{
		{kind: KindWindows7, method: AESXTS128, sectorSize: 512, clearKey: true, startup: true, seed: 21},
		{kind: KindToGo, method: AESCBC128Elephant, sectorSize: 512, clearKey: true, seed: 22},
		{kind: KindVista, method: AESCBC256, sectorSize: 512, clearKey: true, seed: 23},
	} {
		bv := buildVolume(f, spec)
		off := bv.offsets[0]
		blocks = append(blocks, bytes.Clone(bv.img[off:off+int64(len(bv.block))+8+80]))
		if bv.bek != nil {
			beks = append(beks, bv.bek)
		}
	}
	return blocks, beks
}

// sampleSeeds adds the samples' first metadata copies and startup key.
func sampleSeeds(f *testing.F) {
	dir := filepath.Join(testutil.RepoRoot(), "..", "shared", "samples")
	if d := os.Getenv("CKPTFS_SAMPLES"); d != "" {
		dir = d
	}
	if _, err := os.Stat(filepath.Join(dir, "bitlocker.tar.xz")); err != nil {
		return // optional: the built seeds stand alone
	}
	for _, s := range loadSamples(f) {
		fh, err := os.Open(s.path)
		if err != nil {
			continue
		}
		v, err := NewVolume(fh, 1<<40)
		if err == nil {
			b := make([]byte, len(v.md.block)+8+80)
			if _, err := fh.ReadAt(b, v.MetadataOffsets[v.MetadataCopy]); err == nil {
				f.Add(b)
			}
		}
		fh.Close()
	}
}

// fixCRC makes a mutated block pass its CRC-32, so the fuzzer gets past
// it into the datum parsers.
func fixCRC(data []byte) []byte {
	b := bytes.Clone(data)
	if len(b) < mdEntries || !bytes.Equal(b[:8], sigFVE) {
		return b
	}
	size := int(binary.LittleEndian.Uint16(b[blkSize:]))
	if binary.LittleEndian.Uint16(b[blkVersion:]) == 2 {
		size <<= 4
	}
	if size+8 <= len(b) {
		binary.LittleEndian.PutUint32(b[size+4:], crc32.ChecksumIEEE(b[:size]))
	}
	return b
}

// fuzzVolume places a metadata copy in a 1 MiB Windows 7 volume, at the
// three offsets its header names.
func fuzzVolume(block []byte) []byte {
	img := make([]byte, 1<<20)
	copy(img, "\xeb\x58\x90-FVE-FS-")
	binary.LittleEndian.PutUint16(img[hdrSectorSize:], 512)
	copy(img[hdrGUID:], guidNormal)
	for i, off := range []int{128 << 10, 384 << 10, 640 << 10} {
		binary.LittleEndian.PutUint64(img[hdrOffsets+8*i:], uint64(off))
		b := bytes.Clone(block)
		if len(b) >= blkOffsets+24 && i > 0 {
			// Let each copy name its own place, as real copies do.
			binary.LittleEndian.PutUint64(b[blkOffsets:], 128<<10)
			binary.LittleEndian.PutUint64(b[blkOffsets+8:], 384<<10)
			binary.LittleEndian.PutUint64(b[blkOffsets+16:], 640<<10)
			b = fixCRC(b)
		}
		copy(img[off:off+areaLen], b)
	}
	return img
}

// FuzzMetadata feeds mutated metadata copies to the parser and, when one
// parses, unlocks it with the clear key or a fixed startup key and reads
// the volume: nothing may panic, hang or allocate without bound.
func FuzzMetadata(f *testing.F) {
	blocks, beks := fuzzSeedBlocks(f)
	for _, b := range blocks {
		f.Add(b)
	}
	sampleSeeds(f)
	var keys []Key
	for _, b := range beks {
		if k, err := StartupKey(b); err == nil {
			keys = append(keys, k)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > areaLen {
			return
		}
		b := fixCRC(data)
		parseBlock(b, 0)
		img := fuzzVolume(b)
		v, err := NewVolume(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			return
		}
		_ = v.ProtectorTypes()
		r, err := v.Unlock(keys...)
		if err != nil {
			return
		}
		buf := make([]byte, 64<<10)
		for _, off := range []int64{0, 100, 128 << 10, int64(len(img)) - 1000} {
			r.ReadAt(buf, off)
		}
	})
}

// FuzzStartupKey feeds mutated .BEK files to their parser.
func FuzzStartupKey(f *testing.F) {
	_, beks := fuzzSeedBlocks(f)
	for _, b := range beks {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := StartupKey(data)
		if err == nil && len(k.secret) != 32 {
			t.Fatalf("startup key of %d bytes", len(k.secret))
		}
	})
}
