package jbd2

import (
	"encoding/binary"
	"io"
	"sort"
)

// Overlay returns the volume (size bytes) as the kernel sees it after
// replaying the journal: reads of logged blocks come from the journal,
// every other byte from vol. Nothing is written anywhere. A logged block
// past the end of the volume is dropped, as the kernel fails to write it.
func (l *Log) Overlay(vol io.ReaderAt, size int64) io.ReaderAt {
	end := sort.Search(len(l.blocks), func(i int) bool {
		return l.blocks[i].fsBlock >= uint64(size)/uint64(l.BlockSize)
	})
	if end == 0 {
		return vol
	}
	return &overlay{vol: vol, bs: int64(l.BlockSize), blocks: l.blocks[:end], journal: l.journal}
}

type overlay struct {
	vol     io.ReaderAt
	bs      int64
	blocks  []logged // sorted, every one inside the volume
	journal io.ReaderAt
}

func (o *overlay) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	bs, blocks := o.bs, o.blocks
	// the first logged block at or after the one off falls in
	i := sort.Search(len(blocks), func(i int) bool { return blocks[i].fsBlock >= uint64(off/bs) })
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if i < len(blocks) && blocks[i].fsBlock < uint64(pos/bs) {
			i++
			continue
		}
		if i < len(blocks) && blocks[i].fsBlock == uint64(pos/bs) {
			in := pos % bs
			chunk := min(int64(len(p)-n), bs-in)
			if err := o.readLogged(p[n:n+int(chunk)], blocks[i], in); err != nil {
				return n, err
			}
			n += int(chunk)
			continue
		}
		// a run of untouched bytes up to the next logged block
		chunk := int64(len(p) - n)
		if i < len(blocks) {
			chunk = min(chunk, int64(blocks[i].fsBlock)*bs-pos)
		}
		m, err := o.vol.ReadAt(p[n:n+int(chunk)], pos)
		n += m
		if err != nil {
			return n, err
		}
		if m == 0 {
			return n, io.ErrNoProgress
		}
	}
	return n, nil
}

// readLogged fills p from byte in of a logged block, restoring the magic
// number JBD2 zeroed in a block that began with it.
func (o *overlay) readLogged(p []byte, b logged, in int64) error {
	if _, err := o.journal.ReadAt(p, b.jOff+in); err != nil {
		return err
	}
	if b.escaped && in < 4 {
		var m [4]byte
		binary.BigEndian.PutUint32(m[:], magic)
		copy(p, m[in:])
	}
	return nil
}
