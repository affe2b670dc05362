package ntfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"

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

// readAt reads the uncompressed content; q lies within the size. Chunks
// that q covers whole are decoded straight into it, their compressed
// bytes read together and decoded on several cores (a FUSE read of 1 MiB
// is 256 XPRESS4K chunks); chunks it covers in part go through the
// volume's chunk cache, so reads smaller than a chunk decode it once.
func (w *wofReader) readAt(q []byte, off int64) error {
	for len(q) > 0 {
		first := off / w.chunk
		last := (off + int64(len(q)) - 1) / w.chunk
		last = min(last, first+wofBatch-1)
		spans, err := w.spans(first, last)
		if err != nil {
			return err
		}
		whole := make([]wofJob, 0, last-first+1)
		for idx := first; idx <= last; idx++ {
			cs := idx * w.chunk
			usize := min(w.chunk, w.size-cs)
			lo := max(off, cs) - off
			hi := min(off+int64(len(q)), cs+usize) - off
			if c, ok := w.v.wofChunks.Get(wofKey{w.ref, idx}); ok {
				copy(q[lo:hi], c[lo+off-cs:])
				continue
			}
			if lo+off > cs || hi+off < cs+usize {
				c, err := w.decodeOne(idx, spans[idx-first], spans[idx-first+1])
				if err != nil {
					return err
				}
				copy(q[lo:hi], c[lo+off-cs:])
				continue
			}
			whole = append(whole, wofJob{idx: idx, start: spans[idx-first], end: spans[idx-first+1], out: q[lo:hi]})
		}
		if err := w.decodeMany(whole); err != nil {
			return err
		}
		k := min(int64(len(q)), (last+1)*w.chunk-off)
		q = q[k:]
		off += k
	}
	return nil
}

// wofBatch bounds the chunks one pass of readAt handles, so a huge read
// neither reads a huge chunk table nor holds its compressed bytes at once
// (at most 8 MiB of LZX chunks).
const wofBatch = 256

// wofJob is a chunk to decode into out: its compressed bytes lie at
// [start, end) of the stream after the table.
type wofJob struct {
	idx        int64
	start, end int64
	out        []byte
}

// decodeOne decodes chunk idx, stored at [start, end), into a new buffer
// and keeps it in the volume's chunk cache.
func (w *wofReader) decodeOne(idx, start, end int64) ([]byte, error) {
	out := make([]byte, min(w.chunk, w.size-idx*w.chunk))
	src := make([]byte, end-start)
	if _, err := w.data.ReadAt(src, w.table+start); err != nil {
		return nil, fmt.Errorf("record %d: WOF chunk %d: %w", w.ref.Record, idx, err)
	}
	if err := w.decode(out, src, idx, start); err != nil {
		return nil, err
	}
	w.v.wofChunks.Put(wofKey{w.ref, idx}, out)
	return out, nil
}

// wofSrc keeps the buffers decodeMany reads compressed chunks into (up to
// wofBatch chunks, 8 MiB of LZX): a 1 MiB read of XPRESS4K chunks takes
// about half a MiB, which would otherwise be allocated and zeroed anew.
var wofSrc sync.Pool

// wofSrcBuf returns a buffer of n bytes from wofSrc, to put back there.
func wofSrcBuf(n int) *[]byte {
	if b, ok := wofSrc.Get().(*[]byte); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n)
	return &b
}

// wofParallelBytes is the least uncompressed size worth a second core.
const wofParallelBytes = 128 << 10

// decodeMany decodes adjacent chunks: one read of their compressed bytes,
// then the decoding split over the cores when there is enough of it.
func (w *wofReader) decodeMany(jobs []wofJob) error {
	for len(jobs) > 0 {
		// A run of chunks stored one after the other (always, in a
		// well-formed stream) is read at once.
		n := 1
		for n < len(jobs) && jobs[n].start == jobs[n-1].end {
			n++
		}
		if err := w.decodeRun(jobs[:n]); err != nil {
			return err
		}
		jobs = jobs[n:]
	}
	return nil
}

// decodeRun decodes a run of chunks stored one after the other.
func (w *wofReader) decodeRun(run []wofJob) error {
	n := len(run)
	buf := wofSrcBuf(int(run[n-1].end - run[0].start))
	defer wofSrc.Put(buf)
	src := *buf
	if _, err := w.data.ReadAt(src, w.table+run[0].start); err != nil {
		return fmt.Errorf("record %d: WOF chunks %d-%d: %w", w.ref.Record, run[0].idx, run[n-1].idx, err)
	}
	base := run[0].start
	do := func(part []wofJob) error {
		for _, j := range part {
			if err := w.decode(j.out, src[j.start-base:j.end-base], j.idx, j.start); err != nil {
				return err
			}
		}
		return nil
	}
	workers := min(runtime.GOMAXPROCS(0), n, int(int64(n)*w.chunk/wofParallelBytes))
	if workers < 2 {
		return do(run)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		part := run[i*n/workers : (i+1)*n/workers]
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = do(part)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// decode decodes (or copies, when stored raw) the chunk src, stored at
// start, into all of out.
func (w *wofReader) decode(out, src []byte, idx, start int64) error {
	var err error
	switch {
	case len(src) == len(out):
		copy(out, src)
	case w.algo == WofLZX:
		err = lzx.Decompress(out, src)
	default:
		err = xpress.Decompress(out, src)
	}
	if err != nil {
		return formatErr(w.data.volOffset(w.table+start), "record %d: WOF chunk %d: %v", w.ref.Record, idx, err)
	}
	return nil
}

// spans returns where chunks first..last lie in the stream after the
// table: chunk first+i at [spans[i], spans[i+1]). It reads the table
// entries they need at once and checks each chunk's bounds.
func (w *wofReader) spans(first, last int64) ([]int64, error) {
	spans := make([]int64, last-first+2)
	// Entry i holds the end of chunk i, the start of chunk i+1; chunk 0
	// starts at 0 and the last chunk ends at the end of the stream.
	lo, hi := max(first-1, 0), min(last, w.n-2) // entries to read
	if hi >= lo {
		b := make([]byte, (hi-lo+1)*w.es)
		if _, err := w.data.ReadAt(b, lo*w.es); err != nil {
			return nil, fmt.Errorf("record %d: WOF chunk table: %w", w.ref.Record, err)
		}
		entry := func(i int64) int64 {
			e := b[(i-lo)*w.es:]
			if w.es == 4 {
				return int64(binary.LittleEndian.Uint32(e))
			}
			return int64(binary.LittleEndian.Uint64(e) & (1<<62 - 1))
		}
		for i := range spans {
			idx := first + int64(i) // spans[i] is the start of chunk idx
			if idx > 0 && idx-1 <= hi {
				spans[i] = entry(idx - 1)
			}
		}
	}
	stored := w.data.size - w.table
	if last == w.n-1 {
		spans[len(spans)-1] = stored
	}
	for i := range last - first + 1 {
		idx := first + i
		start, end := spans[i], spans[i+1]
		usize := min(w.chunk, w.size-idx*w.chunk)
		if start > end || end > stored || end-start > usize {
			return nil, formatErr(w.data.volOffset(idx*w.es), "record %d: WOF chunk %d at [%d, %d) of %d stored bytes (chunk of %d)",
				w.ref.Record, idx, start, end, stored, usize)
		}
	}
	return spans, nil
}
