package export

import (
	"bytes"
	"fmt"
	"io"
	"os"

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
)

// dataSink is where the data ranges of the source go.
type dataSink interface {
	WriteAt(p []byte, off int64) (int, error)
}

// copyData writes every data extent of the source to dst, leaving holes
// for absent and zero ranges and for chunks that read as zeros (a dynamic
// VHDX reads its unallocated blocks as zeros, so those are holes too).
// Reading and writing overlap: a reader goroutine fills buffers while the
// caller's goroutine writes the previous ones, so a cold source and the
// output's write-back proceed at the same time.
func (j *job) copyData(dst dataSink) error {
	type piece struct {
		buf []byte
		pos int64
	}
	const depth = 3
	free := make(chan []byte, depth)
	for i := 0; i < depth; i++ {
		free <- directio.Buffer(chunk)
	}
	full := make(chan piece, depth)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(full)
		readErr <- j.readData(func(pos int64, n int64) (bool, error) {
			var buf []byte
			select {
			case buf = <-free:
			case <-stop:
				return false, nil
			}
			if err := readFull(j.src, buf[:n], pos); err != nil {
				return false, err
			}
			full <- piece{buf[:n], pos}
			return true, nil
		})
	}()
	for p := range full {
		if err := j.writeNonZero(dst, p.buf, p.pos); err != nil {
			return err
		}
		free <- p.buf[:cap(p.buf)]
	}
	return <-readErr
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
func (j *job) writeNonZero(dst dataSink, p []byte, pos int64) error {
	run := -1
	flush := func(end int) error {
		if run < 0 {
			return nil
		}
		if _, err := dst.WriteAt(p[run:end], pos+int64(run)); err != nil {
			return err
		}
		j.res.DataBytes += int64(end - run)
		run = -1
		return nil
	}
	for s := 0; s < len(p); s += holeGrain {
		e := min(s+holeGrain, len(p))
		if isZero(p[s:e]) {
			if err := flush(s); err != nil {
				return err
			}
		} else if run < 0 {
			run = s
		}
	}
	return flush(len(p))
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
