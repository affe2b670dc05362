package nbd

import (
	"fmt"
	"io"
	"sync"
)

// minHoleChunk is the smallest hole a structured read reports as
// NBD_REPLY_TYPE_OFFSET_HOLE; shorter ones go out as data, so a
// fragmented range does not become a storm of tiny chunks.
const minHoleChunk = 4096

// maxDescriptors bounds one block status reply; the client asks again
// from where it stops.
const maxDescriptors = 1 << 16

// read answers NBD_CMD_READ. With structured replies, holes of the
// export's map go out as hole chunks and only data is read and sent.
func (t *transmission) read(r request) error {
	if !t.inRange(r) {
		return t.fail(r, errInval, "read past the end of the export")
	}
	if !t.sess.structured {
		return t.readSimple(r)
	}
	if r.length == 0 {
		return t.chunk(r, replyFlagDone, replyTypeNone)
	}
	pieces, err := t.readPieces(r)
	if err != nil {
		return t.fail(r, errIO, err.Error())
	}
	for i, p := range pieces {
		var flags uint16
		if i == len(pieces)-1 {
			flags = replyFlagDone
		}
		if p.hole {
			err = t.chunk(r, flags, replyTypeOffsetHole, buf(nil).u64(uint64(p.off)).u32(uint32(p.n)))
		} else {
			err = t.dataChunk(r, flags, p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readSimple answers a read without structured replies: the error word,
// then all the data (nothing on error).
func (t *transmission) readSimple(r request) error {
	data := getBuffer(int(r.length))
	defer putBuffer(data)
	if err := readFull(t.sess.export.Data, data, int64(r.off)); err != nil {
		return t.c.send(buf(nil).u32(magicSimple).u32(errIO).u64(r.handle))
	}
	return t.c.send(buf(nil).u32(magicSimple).u32(0).u64(r.handle), data)
}

// dataChunk reads one data piece and sends it; a read error becomes an
// error chunk naming the offset, which ends the reply.
func (t *transmission) dataChunk(r request, flags uint16, p piece) error {
	data := getBuffer(int(p.n))
	defer putBuffer(data)
	if err := readFull(t.sess.export.Data, data, p.off); err != nil {
		msg := err.Error()
		if len(msg) > maxString {
			msg = msg[:maxString]
		}
		payload := append(buf(nil).u32(errIO).u16(uint16(len(msg))), msg...)
		return t.chunk(r, replyFlagDone, replyTypeErrorOffset, append(payload, buf(nil).u64(uint64(p.off))...))
	}
	return t.chunk(r, flags, replyTypeOffsetData, buf(nil).u64(uint64(p.off)), data)
}

// buffers recycles read buffers: a copy streams thousands of same-sized
// reads, and fresh 256 KiB slices each time would keep the collector busy.
var buffers sync.Pool

func getBuffer(n int) []byte {
	if b, ok := buffers.Get().(*[]byte); ok && cap(*b) >= n {
		return (*b)[:n]
	}
	return make([]byte, n)
}

func putBuffer(b []byte) {
	if cap(b) <= maxRequest {
		buffers.Put(&b)
	}
}

// piece is a part of a read reply: a hole, or data to read.
type piece struct {
	off, n int64
	hole   bool
}

// readPieces splits a read by the export's map. A "don't fragment" read,
// or an export without a map, is one data piece.
func (t *transmission) readPieces(r request) ([]piece, error) {
	off, end := int64(r.off), int64(r.off)+int64(r.length)
	e := t.sess.export
	if e.Map == nil || r.flags&cmdFlagDF != 0 {
		return []piece{{off: off, n: end - off}}, nil
	}
	exts, err := mapRange(e, off, end-off)
	if err != nil {
		return nil, err
	}
	var out []piece
	for _, x := range exts {
		p := piece{off: x.Off, n: x.Len, hole: (x.Hole || x.Zero) && x.Len >= minHoleChunk}
		if k := len(out) - 1; k >= 0 && out[k].hole == p.hole {
			out[k].n += p.n
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// mapRange asks the export's map for [off, off+n) and checks what comes
// back: consecutive, inside the range, making progress. Extents past the
// range are cut; a map that stops short is asked again from where it
// stopped. A map breaking these rules is an error, never a wrong reply.
func mapRange(e *Export, off, n int64) ([]Extent, error) {
	end := off + n
	var out []Extent
	for pos := off; pos < end; {
		exts, err := e.Map(pos, end-pos)
		if err != nil {
			return nil, err
		}
		if len(exts) == 0 {
			return nil, fmt.Errorf("allocation map of %q is empty at byte %d", e.Name, pos)
		}
		for _, x := range exts {
			if x.Off != pos || x.Len <= 0 {
				return nil, fmt.Errorf("allocation map of %q is not consecutive at byte %d", e.Name, pos)
			}
			x.Len = min(x.Len, end-pos)
			out = append(out, x)
			pos += x.Len
			if pos == end {
				break
			}
		}
	}
	return out, nil
}

// readFull reads len(p) bytes at off; io.EOF before the end is an error
// (the export is shorter than it says).
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("read %d bytes at %d: %w", len(p), off, err)
}

// blockStatus answers NBD_CMD_BLOCK_STATUS for base:allocation: holes
// (absent or zero runs) as HOLE|ZERO, data as 0, covering the request
// from its offset (one descriptor with NBD_CMD_FLAG_REQ_ONE).
func (t *transmission) blockStatus(r request) error {
	if !t.sess.allocation {
		return t.fail(r, errInval, "no metadata context selected (NBD_OPT_SET_META_CONTEXT base:allocation)")
	}
	if r.length == 0 || !t.inRange(r) {
		return t.fail(r, errInval, "block status range is empty or past the end of the export")
	}
	e := t.sess.export
	off, n := int64(r.off), int64(r.length)
	exts := []Extent{{Off: off, Len: n}}
	if e.Map != nil {
		var err error
		if exts, err = mapRange(e, off, n); err != nil {
			return t.fail(r, errIO, err.Error())
		}
	}
	payload := buf(nil).u32(contextIDAllocation)
	var last uint32
	count := 0
	for _, x := range exts {
		var state uint32
		if x.Hole {
			state = stateHole | stateZero
		} else if x.Zero {
			state = stateZero
		}
		if count > 0 && state == last {
			// Merge with the previous descriptor; lengths stay within
			// 32 bits because the request's own length does.
			k := len(payload) - 8
			prev := uint32(payload[k])<<24 | uint32(payload[k+1])<<16 | uint32(payload[k+2])<<8 | uint32(payload[k+3])
			payload = append(payload[:k], buf(nil).u32(prev+uint32(x.Len)).u32(state)...)
			continue
		}
		if (count == 1 && r.flags&cmdFlagReqOne != 0) || count == maxDescriptors {
			break // the protocol lets a reply cover less than asked
		}
		payload = payload.u32(uint32(x.Len)).u32(state)
		last = state
		count++
	}
	return t.chunk(r, replyFlagDone, replyTypeBlockStatus, payload)
}
