package ntfs

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ckptfs/ckptfs/internal/lzx"
	"github.com/ckptfs/ckptfs/internal/xpress"
)

// Windows Overlay Filter ("system compression", compact /exe, CompactOS).
// A WOF file's unnamed $DATA is all hole and holds only the size; the
// content is in the named stream WofCompressedData, and a reparse point of
// tag TagWOF says how it is coded. That stream is a table of chunk end
// offsets (relative to the end of the table; 8-byte entries when the file
// is 4 GiB or more, else 4-byte ones) for every chunk but the first, then
// the chunks. A chunk whose stored size equals its uncompressed size is
// stored raw.

// WOF compression formats, as named in the reparse data.
const (
	WofXpress4K  uint32 = 0
	WofLZX       uint32 = 1
	WofXpress8K  uint32 = 2
	WofXpress16K uint32 = 3
)

// wofStreamName is the named stream holding a WOF file's content.
const wofStreamName = "WofCompressedData"

// WOF reparse data: WOF_EXTERNAL_INFO (version, provider), then for the
// file provider FILE_PROVIDER_EXTERNAL_INFO_V1 (version, algorithm).
const (
	wofProviderWIM  = 1 // content in a WIM image elsewhere (WIMBoot)
	wofProviderFile = 2
)

// wofChunkCache bounds the decompressed chunks a volume keeps (at most 32
// KiB each): enough for sequential reads of a few files at once.
const wofChunkCache = 64

type wofKey struct {
	ref Ref
	idx int64
}

// ErrDeduplicated is returned for the data of files of a Windows Server
// Data Deduplication volume (reparse tag TagDedup): their content lives in
// the volume's chunk store, whose format is not public. It matches
// ErrUnsupported and errors.ErrUnsupported.
var ErrDeduplicated error = dedupError{}

type dedupError struct{}

func (dedupError) Error() string {
	return "ntfs: deduplicated: content is in the volume's chunk store"
}

func (dedupError) Is(target error) bool {
	return target == ErrUnsupported || target == errors.ErrUnsupported
}

// Deduplicated reports whether the file's content lives in the chunk
// store of a Data Deduplication volume (reading it gives ErrDeduplicated).
func (fi *FileRecordInfo) Deduplicated() bool {
	return fi.Reparse != nil && fi.Reparse.Tag == TagDedup
}

// WofFormat returns the compression format of a WOF reparse point and
// whether the file provider (content in the file's own stream) is used.
func (r *Reparse) WofFormat() (algo uint32, ok bool) {
	d := r.Data
	if r.Tag != TagWOF || len(d) < 16 {
		return 0, false
	}
	if binary.LittleEndian.Uint32(d[4:]) != wofProviderFile {
		return 0, false
	}
	return binary.LittleEndian.Uint32(d[12:]), true
}

// wofChunkSize returns the uncompressed chunk size of a WOF format.
func wofChunkSize(algo uint32) int64 {
	switch algo {
	case WofXpress4K:
		return 4096
	case WofXpress8K:
		return 8192
	case WofXpress16K:
		return 16384
	case WofLZX:
		return 32768
	}
	return 0
}

// wofReader decodes the content of a WOF file from its WofCompressedData
// stream, one chunk at a time, through the volume's chunk cache.
type wofReader struct {
	v     *Volume
	ref   Ref
	data  *stream
	size  int64 // uncompressed size
	chunk int64
	algo  uint32
	n     int64 // number of chunks
	es    int64 // chunk table entry size
	table int64 // chunk table size
}

// wofError says why the content of a WOF file cannot be decoded, or nil.
func (r *Reparse) wofError(rec uint64) error {
	d := r.Data
	if len(d) < 8 {
		return formatErr(-1, "record %d: WOF reparse data of %d bytes", rec, len(d))
	}
	switch p := binary.LittleEndian.Uint32(d[4:]); {
	case p == wofProviderWIM:
		return kindErr(ErrUnsupported, -1, "record %d: WOF file backed by a WIM image outside the volume (WIMBoot)", rec)
	case p != wofProviderFile:
		return kindErr(ErrUnsupported, -1, "record %d: WOF provider %d", rec, p)
	case len(d) < 16:
		return formatErr(-1, "record %d: WOF file provider data of %d bytes", rec, len(d))
	}
	if a, _ := r.WofFormat(); wofChunkSize(a) == 0 {
		return kindErr(ErrUnsupported, -1, "record %d: WOF compression format %d", rec, a)
	}
	return nil
}

// newWofReader prepares the reader of n's content, of the given size.
func (n *node) newWofReader(size int64) (*wofReader, error) {
	r := n.info.Reparse
	rec := n.info.Ref.Record
	if err := r.wofError(rec); err != nil {
		return nil, err
	}
	data, err := n.stream(wofStreamName)
	if err != nil {
		return nil, fmt.Errorf("record %d: WOF file without its %s stream: %w", rec, wofStreamName, err)
	}
	algo, _ := r.WofFormat()
	w := &wofReader{v: n.v, ref: n.info.Ref, data: data, size: size, algo: algo, chunk: wofChunkSize(algo), es: 4}
	if size > 0xFFFFFFFF {
		w.es = 8
	}
	w.n = (size + w.chunk - 1) / w.chunk
	if w.n > 0 {
		w.table = (w.n - 1) * w.es
	}
	if w.table > data.size {
		return nil, formatErr(-1, "record %d: WOF chunk table of %d bytes in a stream of %d", rec, w.table, data.size)
	}
	return w, nil
}

// ReadAt reads the uncompressed content; q lies within the size.
func (w *wofReader) readAt(q []byte, off int64) error {
	for len(q) > 0 {
		idx := off / w.chunk
		c, err := w.chunkData(idx)
		if err != nil {
			return err
		}
		k := copy(q, c[off-idx*w.chunk:])
		q = q[k:]
		off += int64(k)
	}
	return nil
}

// chunkData returns chunk idx decompressed, from the volume's cache when
// it is there. The returned slice is shared: callers only read it.
func (w *wofReader) chunkData(idx int64) ([]byte, error) {
	key := wofKey{w.ref, idx}
	if c, ok := w.v.wofChunks.get(key); ok {
		return c, nil
	}
	start, end, err := w.bounds(idx)
	if err != nil {
		return nil, err
	}
	usize := min(w.chunk, w.size-idx*w.chunk)
	src := make([]byte, end-start)
	if _, err := w.data.ReadAt(src, w.table+start); err != nil {
		return nil, fmt.Errorf("record %d: WOF chunk %d: %w", w.ref.Record, idx, err)
	}
	out := make([]byte, usize)
	switch {
	case int64(len(src)) == usize:
		copy(out, src)
	case w.algo == WofLZX:
		err = lzx.Decompress(out, src)
	default:
		err = xpress.Decompress(out, src)
	}
	if err != nil {
		return nil, formatErr(w.data.volOffset(w.table+start), "record %d: WOF chunk %d: %v", w.ref.Record, idx, err)
	}
	w.v.wofChunks.put(key, out)
	return out, nil
}

// bounds returns where chunk idx lies in the stream, after the table.
func (w *wofReader) bounds(idx int64) (start, end int64, err error) {
	entry := func(i int64) (int64, error) {
		var b [8]byte
		if _, err := w.data.ReadAt(b[:w.es], i*w.es); err != nil {
			return 0, fmt.Errorf("record %d: WOF chunk table: %w", w.ref.Record, err)
		}
		if w.es == 4 {
			return int64(binary.LittleEndian.Uint32(b[:])), nil
		}
		return int64(binary.LittleEndian.Uint64(b[:]) & (1<<62 - 1)), nil
	}
	if idx > 0 {
		if start, err = entry(idx - 1); err != nil {
			return 0, 0, err
		}
	}
	end = w.data.size - w.table
	if idx < w.n-1 {
		if end, err = entry(idx); err != nil {
			return 0, 0, err
		}
	}
	usize := min(w.chunk, w.size-idx*w.chunk)
	if start > end || end > w.data.size-w.table || end-start > usize {
		return 0, 0, formatErr(w.data.volOffset(idx*w.es), "record %d: WOF chunk %d at [%d, %d) of %d stored bytes (chunk of %d)",
			w.ref.Record, idx, start, end, w.data.size-w.table, usize)
	}
	return start, end, nil
}
