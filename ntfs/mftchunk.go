package ntfs

import "io"

// Reading $MFT a chunk at a time. Records of files made together lie
// together, and a walk (find, ls -l, a copy of a folder) asks for them one
// by one in almost that order: one 64 KiB read instead of sixty-four 1 KiB
// ones saves a round trip through every layer below for each record, and
// on a cold disk one seek each.
const (
	mftChunkSize  = 64 << 10
	mftChunkCache = 256 // chunks: 16 MiB per volume
)

// readMFT fills p from the $MFT stream at off, through the chunk cache.
// A read that spans chunks (a record larger than a chunk cannot exist, but
// a record may straddle two chunks when records are not a power of two)
// is served piecewise.
func (v *Volume) readMFT(p []byte, off int64) error {
	for len(p) > 0 {
		idx := off / mftChunkSize
		chunk, err := v.mftChunk(idx)
		if err != nil {
			// A chunk may hold an unreadable run (a damaged or hostile
			// runlist) far from the record wanted: read just that.
			_, err := v.mft.ReadAt(p, off)
			return err
		}
		in := off - idx*mftChunkSize
		if in >= int64(len(chunk)) {
			return io.ErrUnexpectedEOF
		}
		n := copy(p, chunk[in:])
		p, off = p[n:], off+int64(n)
	}
	return nil
}

// mftChunk returns chunk idx of $MFT (shorter at its end), reading it on
// a miss. Two readers missing the same chunk at once both read it: rare,
// and cheaper than making one wait.
func (v *Volume) mftChunk(idx int64) ([]byte, error) {
	if b, ok := v.mftChunks.get(idx); ok {
		return b, nil
	}
	start := idx * mftChunkSize
	n := min(int64(mftChunkSize), v.mft.size-start)
	if n <= 0 {
		return nil, io.ErrUnexpectedEOF
	}
	b := make([]byte, n)
	if _, err := v.mft.ReadAt(b, start); err != nil && err != io.EOF {
		return nil, err
	}
	v.mftChunks.put(idx, b)
	return b, nil
}
