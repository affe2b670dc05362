package export

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/ckptfs/ckptfs/internal/directio"
	"github.com/ckptfs/ckptfs/vhdx"
)

const (
	// window is how much of the disk one extent query covers: large
	// enough that queries cost nothing next to the copying, small enough
	// that the extent list of a fragmented disk stays short.
	window = 256 << 20
	// chunk is the largest single read and write.
	chunk = 4 << 20
	// pipeReaders and pipeWriters are copyData's goroutines of each kind:
	// two of each keep a request queued at the device on both sides.
	pipeReaders, pipeWriters = 2, 2
)

// dataSink is where the data ranges of the source go.
type dataSink interface {
	WriteAt(p []byte, off int64) (int, error)
}

// copyData writes every data extent of the source to dst, leaving holes
// for absent and zero ranges and for chunks that read as zeros (a dynamic
// VHDX reads its unallocated blocks as zeros, so those are holes too).
//
// One goroutine walks the extents in order; readers fill chunk buffers and
// writers drain them, several of each. A single synchronous writer keeps
// one request at the device at a time, and an O_DIRECT write has no page
// cache to hide its latency, so the device idles between writes; a few in
// flight keep it busy while the readers run ahead. Chunks land out of order,
// which is harmless: each covers its own range of the output.
func (j *job) copyData(dst dataSink) error {
	type piece struct {
		buf    []byte
		pos, n int64
	}
	depth := pipeReaders + pipeWriters + 1
	free := make(chan []byte, depth)
	for i := 0; i < depth; i++ {
		free <- directio.Buffer(chunk)
	}
	todo := make(chan piece, depth)
	full := make(chan piece, depth)
	stop := make(chan struct{})
	var (
		once     sync.Once
		firstErr error
		written  atomic.Int64
	)
	fail := func(err error) {
		once.Do(func() { firstErr = err; close(stop) })
	}
	go func() {
		defer close(todo)
		err := j.readData(func(pos, n int64) (bool, error) {
			select {
			case todo <- piece{pos: pos, n: n}:
				return true, nil
			case <-stop:
				return false, nil
			}
		})
		if err != nil {
			fail(err)
		}
	}()
	var readWG, writeWG sync.WaitGroup
	for range pipeReaders {
		readWG.Go(func() {
			for p := range todo {
				var buf []byte
				select {
				case buf = <-free:
				case <-stop:
					return
				}
				buf = buf[:p.n]
				if err := readFull(j.src, buf, p.pos); err != nil {
					fail(err)
					return
				}
				full <- piece{buf: buf, pos: p.pos}
			}
		})
	}
	go func() { readWG.Wait(); close(full) }()
	for range pipeWriters {
		writeWG.Go(func() {
			for p := range full {
				n, err := writeNonZero(dst, p.buf, p.pos)
				written.Add(n)
				free <- p.buf[:cap(p.buf)]
				if err != nil {
					fail(err)
				}
			}
		})
	}
	writeWG.Wait()
	j.res.DataBytes += written.Load()
	fail(nil)
	return firstErr
}

// readData walks the data extents in chunk-sized pieces, calling fill for
// each; fill returns false to stop early. Pieces are widened to
// directio.Align boundaries (the extra bytes are read from the source too,
// so they are right whatever they hold), so that the output's writes can
// go direct; a page shared by two extents is read once.
func (j *job) readData(fill func(pos, n int64) (bool, error)) error {
	size := j.src.Size()
	done := int64(0) // everything before is handed out
	for off := int64(0); off < size; off += window {
		if err := j.ctx.Err(); err != nil {
			return err
		}
		ext, err := j.src.Extents(off, min(window, size-off))
		if err != nil {
			return fmt.Errorf("extents at %d: %w", off, err)
		}
		for _, e := range ext {
			if e.Kind != vhdx.ExtentData {
				continue
			}
			start := max(e.Off/directio.Align*directio.Align, done)
			end := min((e.End()+directio.Align-1)/directio.Align*directio.Align, size)
			for pos := start; pos < end; {
				n := min(int64(chunk), end-pos)
				if ok, err := fill(pos, n); err != nil || !ok {
					return err
				}
				pos += n
			}
			done = max(done, end)
		}
		j.report(min(off+window, size))
	}
	return nil
}

// holeGrain is the granularity at which zeros inside data extents are
// left as holes: a file system's block. (A base VHDX block is fully
// present even where the guest never wrote, so data extents hold zeros.)
const holeGrain = 4096

// writeNonZero writes the runs of p, in holeGrain pieces, that are not
// all zeros.
func writeNonZero(dst dataSink, p []byte, pos int64) (written int64, err error) {
	run := -1
	flush := func(end int) error {
		if run < 0 {
			return nil
		}
		if _, err := dst.WriteAt(p[run:end], pos+int64(run)); err != nil {
			return err
		}
		written += int64(end - run)
		run = -1
		return nil
	}
	for s := 0; s < len(p); s += holeGrain {
		e := min(s+holeGrain, len(p))
		if isZero(p[s:e]) {
			if err := flush(s); err != nil {
				return written, err
			}
		} else if run < 0 {
			run = s
		}
	}
	err = flush(len(p))
	return written, err
}

// writeRaw writes a sparse raw image: the file is sized first, so every
// range not written stays a hole.
func (j *job) writeRaw(tmp string) error {
	plain, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	f := directio.New(plain, tmp)
	err = f.Truncate(j.src.Size())
	if err == nil {
		err = j.copyData(f)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", tmp, err)
	}
	return nil
}

// writeVHDX writes a standalone dynamic VHDX.
func (j *job) writeVHDX(tmp string) error {
	ss := j.opt.sectorSize(j.src)
	size := j.src.Size()
	if size%ss != 0 {
		return fmt.Errorf("%w: virtual size %d is not a multiple of the %d-byte sector", ErrOptions, size, ss)
	}
	w, err := vhdx.Create(tmp, vhdx.CreateOptions{VirtualSize: size, BlockSize: j.opt.BlockSize, LogicalSectorSize: ss, DirectIO: true})
	if err != nil {
		return err
	}
	err = j.copyData(w)
	if cerr := w.Close(); err == nil {
		err = cerr // Close writes the BAT and headers, each synced
	}
	return err
}

// readFull reads exactly len(p) bytes of the source at off.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("reading source at %d: %w", off, err)
}

var zeros = make([]byte, chunk)

// isZero reports whether p holds only zero bytes (bytes.Equal is the
// vectorised comparison the runtime has).
func isZero(p []byte) bool {
	for len(p) > 0 {
		n := min(len(p), len(zeros))
		if !bytes.Equal(p[:n], zeros[:n]) {
			return false
		}
		p = p[n:]
	}
	return true
}
