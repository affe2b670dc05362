// Package wim reads the blob table of a WIM file written by wimlib's
// wimcapture and lays its resources out as Windows Overlay Filter files.
// A non-solid WIM resource has the layout of a WOF WofCompressedData
// stream: a table of chunk end offsets (4-byte entries, 8-byte ones past
// 4 GiB) for every chunk but the first, then the chunks, each stored raw
// when compressing it did not make it smaller. So wimlib's compressors
// make test data for ckptfs's decoders (internal/wimtest) and WOF volumes
// for benchmarks (tools/mkwof), with no compressor of our own.
package wim

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Resource is one file's data as wimlib stored it.
type Resource struct {
	Stored     []byte // the bytes in the WIM: chunk table and chunks
	Size       int64  // uncompressed size
	Compressed bool   // false: wimlib stored the data raw, without a table
}

const (
	flagMetadata   = 0x02
	flagCompressed = 0x04
	flagSolid      = 0x10
	entrySize      = 50
)

// Capture runs wimcapture over dir into the WIM file wim with the given
// compression ("XPRESS", "LZX") and chunk size, and returns the resource
// of every non-empty regular file of dir by its path relative to dir.
func Capture(dir, wim, compress string, chunk int) (map[string]Resource, error) {
	cmd := exec.Command("wimcapture", dir, wim, "--compress="+compress,
		fmt.Sprintf("--chunk-size=%d", chunk), "--no-acls", "--threads=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("wimcapture: %v\n%s", err, out)
	}
	img, err := os.ReadFile(wim)
	if err != nil {
		return nil, err
	}
	blobs, err := BlobTable(img)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", wim, err)
	}
	res := map[string]Resource{}
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil || len(data) == 0 {
			return err
		}
		r, ok := blobs[sha1.Sum(data)]
		if !ok {
			return fmt.Errorf("%s: no blob in the WIM", p)
		}
		rel, _ := filepath.Rel(dir, p)
		res[rel] = r
		return nil
	})
	return res, err
}

// BlobTable reads the WIM header's blob (lookup) table and returns the
// non-metadata resources by SHA-1.
func BlobTable(img []byte) (map[[20]byte]Resource, error) {
	if len(img) < 208 || !bytes.HasPrefix(img, []byte("MSWIM\x00\x00\x00")) {
		return nil, fmt.Errorf("not a WIM file")
	}
	tsize, _, toff, _ := reshdr(img[48:])
	if toff < 0 || tsize < 0 || toff+tsize > int64(len(img)) {
		return nil, fmt.Errorf("blob table past the end")
	}
	table := img[toff : toff+tsize]
	blobs := map[[20]byte]Resource{}
	for len(table) >= entrySize {
		e := table[:entrySize]
		table = table[entrySize:]
		size, flags, off, orig := reshdr(e)
		if flags&flagMetadata != 0 {
			continue
		}
		if flags&flagSolid != 0 {
			return nil, fmt.Errorf("solid resource")
		}
		if off < 0 || size < 0 || off+size > int64(len(img)) {
			return nil, fmt.Errorf("resource past the end")
		}
		var h [20]byte
		copy(h[:], e[30:50])
		blobs[h] = Resource{Stored: img[off : off+size], Size: orig, Compressed: flags&flagCompressed != 0}
	}
	return blobs, nil
}

func reshdr(b []byte) (size int64, flags byte, off, orig int64) {
	v := binary.LittleEndian.Uint64(b)
	return int64(v & (1<<56 - 1)), byte(v >> 56), int64(binary.LittleEndian.Uint64(b[8:])), int64(binary.LittleEndian.Uint64(b[16:]))
}

// Chunks splits a compressed resource into its chunks: each chunk's stored
// bytes and uncompressed size.
func Chunks(r Resource, chunk int) (stored [][]byte, sizes []int, err error) {
	if !r.Compressed {
		return nil, nil, fmt.Errorf("resource stored raw")
	}
	n := int((r.Size + int64(chunk) - 1) / int64(chunk))
	es := 4
	if r.Size > 1<<32-1 {
		es = 8
	}
	tbl := (n - 1) * es
	if tbl > len(r.Stored) {
		return nil, nil, fmt.Errorf("chunk table past the end")
	}
	ends := make([]int64, 0, n)
	for i := 0; i < n-1; i++ {
		if es == 4 {
			ends = append(ends, int64(binary.LittleEndian.Uint32(r.Stored[i*4:])))
		} else {
			ends = append(ends, int64(binary.LittleEndian.Uint64(r.Stored[i*8:])))
		}
	}
	ends = append(ends, int64(len(r.Stored)-tbl))
	start := int64(0)
	for i, e := range ends {
		if e < start || int64(tbl)+e > int64(len(r.Stored)) {
			return nil, nil, fmt.Errorf("chunk %d: bad end offset", i)
		}
		stored = append(stored, r.Stored[int64(tbl)+start:int64(tbl)+e])
		size := chunk
		if i == n-1 {
			size = int(r.Size - int64(i)*int64(chunk))
		}
		sizes = append(sizes, size)
		start = e
	}
	return stored, sizes, nil
}
