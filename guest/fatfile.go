package guest

import (
	"errors"
	"fmt"
	"io"
	"sort"
)

// fatRun is a stretch of a FAT file whose clusters follow each other on
// disk.
type fatRun struct {
	fileOff int64 // where the run starts in the file
	diskOff int64 // where it starts in the partition
	length  int64
}

// fatData reads a FAT file's content straight from the partition by its
// cluster runs (and an ISO 9660 file's by its one extent, see isoData).
// go-diskfs walks the whole cluster chain on every Read, so a random read
// of a big file cost time proportional to the file size; the
// runs are built once per open file instead, and each ReadAt finds its run
// by binary search.
//
// fatData holds no mutable state, so concurrent ReadAt calls are safe.
type fatData struct {
	r    io.ReaderAt // the partition
	size int64       // of the partition
	runs []fatRun    // covering the file from offset 0, in order
	// chainErr says why the runs end before the file size does (a chain
	// that stops early or leaves the volume); bytes the runs hold are still
	// readable.
	chainErr error
}

// fileRuns walks the chain from start until it covers fileSize bytes. The
// walk is bounded twice: by the clusters the file size needs, and by
// loadFAT's proof that no chain loops.
func (t *fatTable) fileRuns(r io.ReaderAt, size int64, start uint32, fileSize int64) *fatData {
	d := &fatData{r: r, size: size}
	need := (fileSize + t.clusterSize - 1) / t.clusterSize
	c := start
	for i := int64(0); i < need; i++ {
		if !t.valid(c) {
			d.chainErr = formatErr(d.covered(), "cluster chain ends after %d of %d clusters (next is %#x)", i, need, c)
			return d
		}
		off := t.dataStart + int64(c-2)*t.clusterSize
		if n := len(d.runs); n > 0 && d.runs[n-1].diskOff+d.runs[n-1].length == off {
			d.runs[n-1].length += t.clusterSize
		} else {
			d.runs = append(d.runs, fatRun{fileOff: i * t.clusterSize, diskOff: off, length: t.clusterSize})
		}
		c = t.next(c)
	}
	return d
}

// covered is the number of file bytes the runs hold.
func (d *fatData) covered() int64 {
	if len(d.runs) == 0 {
		return 0
	}
	last := d.runs[len(d.runs)-1]
	return last.fileOff + last.length
}

// readAt fills p from file offset off. The caller has cut p at the file
// size, so bytes of the last cluster past the end are never returned.
func (d *fatData) readAt(p []byte, off int64) (int, error) {
	i := sort.Search(len(d.runs), func(i int) bool { return d.runs[i].fileOff+d.runs[i].length > off })
	n := 0
	for ; n < len(p) && i < len(d.runs); i++ {
		run := d.runs[i]
		at := off + int64(n) - run.fileOff
		chunk := p[n:min(int64(len(p)), int64(n)+run.length-at)]
		if err := readFull(d.r, d.size, chunk, run.diskOff+at); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) { // the run leaves the partition
				return n, formatErr(run.diskOff+at, "file data past the volume end")
			}
			return n, fmt.Errorf("reading file data at byte %d: %w", run.diskOff+at, err)
		}
		n += len(chunk)
	}
	if n < len(p) {
		if d.chainErr != nil {
			return n, d.chainErr
		}
		return n, fmt.Errorf("file data ends at byte %d: %w", off+int64(n), ErrFormat)
	}
	return n, nil
}

// byteExtents maps the runs; they cover the file unless its chain ended early.
func (d *fatData) byteExtents(size int64) ([]Extent, bool) {
	out := make([]Extent, 0, len(d.runs))
	for _, r := range d.runs {
		if r.fileOff >= size {
			break
		}
		out = append(out, Extent{FileOff: r.fileOff, VolOff: r.diskOff, Len: min(r.length, size-r.fileOff)})
	}
	return out, d.chainErr == nil
}
