//go:build linux

package nbd

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// client is a minimal hand-driven NBD client for the cases real clients
// never produce.
type client struct {
	t *testing.T
	c net.Conn
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	cl := &client{t: t, c: c}
	hello := cl.read(18)
	if binary.BigEndian.Uint64(hello) != magicInit || binary.BigEndian.Uint64(hello[8:]) != magicOption {
		t.Fatalf("bad greeting % x", hello)
	}
	cl.write(buf(nil).u32(flagCFixedNewstyle | flagCNoZeroes))
	return cl
}

func (cl *client) read(n int) []byte {
	cl.t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(cl.c, b); err != nil {
		cl.t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

func (cl *client) write(b []byte) {
	cl.t.Helper()
	if _, err := cl.c.Write(b); err != nil {
		cl.t.Fatal(err)
	}
}

// option sends one option and returns the reply types up to the final one.
func (cl *client) option(opt uint32, data []byte) []uint32 {
	cl.t.Helper()
	cl.write(append(buf(nil).u64(magicOption).u32(opt).u32(uint32(len(data))), data...))
	var types []uint32
	for {
		h := cl.read(20)
		typ, n := binary.BigEndian.Uint32(h[12:]), binary.BigEndian.Uint32(h[16:])
		cl.read(int(n))
		types = append(types, typ)
		if typ == repAck || typ&repErr != 0 {
			return types
		}
	}
}

// goStructured negotiates structured replies, base:allocation and GO.
func (cl *client) goStructured(name string) {
	cl.t.Helper()
	cl.option(optStructuredReply, nil)
	q := append(buf(nil).u32(uint32(len(name))), name...)
	q = append(q.u32(1).u32(uint32(len(contextBaseAllocation))), contextBaseAllocation...)
	if got := cl.option(optSetMetaContext, q); len(got) != 2 || got[0] != repMetaContext {
		cl.t.Fatalf("set meta context replies %v", got)
	}
	g := append(buf(nil).u32(uint32(len(name))), name...).u16(0)
	if got := cl.option(optGo, g); got[len(got)-1] != repAck {
		cl.t.Fatalf("GO replies %v", got)
	}
}

func (cl *client) request(typ, flags uint16, handle, off uint64, n uint32) {
	cl.write(buf(nil).u32(magicRequest).u16(flags).u16(typ).u64(handle).u64(off).u32(n))
}

// chunk reads one structured chunk: flags, type, handle, payload.
func (cl *client) chunk() (uint16, uint16, uint64, []byte) {
	cl.t.Helper()
	h := cl.read(20)
	if m := binary.BigEndian.Uint32(h); m != magicStructured {
		cl.t.Fatalf("reply magic %#x, want structured", m)
	}
	p := cl.read(int(binary.BigEndian.Uint32(h[16:])))
	return binary.BigEndian.Uint16(h[4:]), binary.BigEndian.Uint16(h[6:]), binary.BigEndian.Uint64(h[8:]), p
}

// errorOf reads a reply that must be a single error chunk.
func (cl *client) errorOf(handle uint64) uint32 {
	cl.t.Helper()
	flags, typ, h, p := cl.chunk()
	if h != handle || typ&(1<<15) == 0 || flags&replyFlagDone == 0 {
		cl.t.Fatalf("reply to %d: flags %d type %d handle %d, want a final error chunk", handle, flags, typ, h)
	}
	return binary.BigEndian.Uint32(p)
}

func TestRequestsThatMustFail(t *testing.T) {
	img, exports := testExports()
	addr, _, _ := serve(t, exports, Options{})
	cl := dial(t, addr)
	cl.goStructured("Now/Disk0")
	size := uint64(len(img.data))
	cases := []struct {
		name       string
		typ, flags uint16
		off        uint64
		n          uint32
		payload    int
		want       uint32
	}{
		{"write", cmdWrite, 0, 0, 4096, 4096, errPerm},
		{"trim", cmdTrim, 0, 0, 4096, 0, errPerm},
		{"write zeroes", cmdWriteZeroes, 0, 0, 4096, 0, errPerm},
		{"read past end", cmdRead, 0, size - 10, 20, 0, errInval},
		{"read at huge offset", cmdRead, 0, 1 << 63, 1, 0, errInval},
		{"read too long", cmdRead, 0, 0, maxRequest + 1, 0, errInval},
		{"read too long, don't fragment", cmdRead, cmdFlagDF, 0, maxRequest + 1, 0, errOverflow},
		{"block status past end", cmdBlockStatus, 0, size, 1, 0, errInval},
		{"unknown command", 42, 0, 0, 1, 0, errInval},
		{"flush not offered", cmdFlush, 0, 0, 0, 0, errInval},
	}
	for i, c := range cases {
		cl.request(c.typ, c.flags, uint64(i), c.off, c.n)
		if c.payload > 0 {
			cl.write(make([]byte, c.payload))
		}
		if got := cl.errorOf(uint64(i)); got != c.want {
			t.Errorf("%s: error %d, want %d", c.name, got, c.want)
		}
	}
	// The connection still serves: a read across a hole.
	cl.request(cmdRead, 0, 99, 1<<20-8, 16)
	var got []byte
	for {
		flags, typ, _, p := cl.chunk()
		switch typ {
		case replyTypeOffsetData:
			got = append(got, p[8:]...)
		case replyTypeOffsetHole:
			got = append(got, make([]byte, binary.BigEndian.Uint32(p[8:]))...)
		default:
			t.Fatalf("chunk type %d", typ)
		}
		if flags&replyFlagDone != 0 {
			break
		}
	}
	if !bytes.Equal(got, img.data[1<<20-8:1<<20+8]) {
		t.Errorf("read across the hole: % x, want % x", got, img.data[1<<20-8:1<<20+8])
	}
}

func TestBlockStatusReqOne(t *testing.T) {
	_, exports := testExports()
	addr, _, _ := serve(t, exports, Options{})
	cl := dial(t, addr)
	cl.goStructured("Now/Disk0")
	cl.request(cmdBlockStatus, cmdFlagReqOne, 7, 512, 4<<20)
	_, typ, _, p := cl.chunk()
	if typ != replyTypeBlockStatus || len(p) != 12 {
		t.Fatalf("type %d, %d payload bytes; want one descriptor", typ, len(p))
	}
	if n, st := binary.BigEndian.Uint32(p[4:]), binary.BigEndian.Uint32(p[8:]); n != 1<<20-512 || st != 0 {
		t.Errorf("descriptor %d bytes state %d, want %d data", n, st, 1<<20-512)
	}
}

func TestBadHandshakes(t *testing.T) {
	_, exports := testExports()
	addr, _, _ := serve(t, exports, Options{})
	cl := dial(t, addr)
	if got := cl.option(99, []byte("junk")); got[0] != repErrUnsup {
		t.Errorf("unknown option: %v", got)
	}
	if got := cl.option(optList, []byte{1}); got[0] != repErrInvalid {
		t.Errorf("list with data: %v", got)
	}
	if got := cl.option(optGo, []byte{0, 0, 0, 9, 'x'}); got[0] != repErrInvalid {
		t.Errorf("truncated GO: %v", got)
	}
	if got := cl.option(optGo, append(buf(nil).u32(4), "nope\x00\x00"...)); got[0] != repErrUnknown {
		t.Errorf("GO to a missing export: %v", got)
	}
	if got := cl.option(optSetMetaContext, buf(nil).u32(0).u32(0)); got[0] != repErrInvalid {
		t.Errorf("meta context before structured replies: %v", got)
	}
	if got := cl.option(optStartTLS, nil); got[0] != repErrPolicy {
		t.Errorf("STARTTLS without TLS: %v", got)
	}
	// A huge option is refused after its data is skipped.
	if got := cl.option(optInfo, make([]byte, maxOptionData+1)); got[0] != repErrTooBig {
		t.Errorf("oversized option: %v", got)
	}
	// Bad magic: the server hangs up.
	cl.write(buf(nil).u64(0x1234).u32(optList).u32(0))
	if _, err := io.ReadFull(cl.c, make([]byte, 1)); err == nil {
		t.Error("server answered after a bad option magic")
	}
}

// A client that vanishes in the middle of a reply, and many clients at
// once: the server keeps serving the others.
func TestVanishingAndConcurrentClients(t *testing.T) {
	img, exports := testExports()
	addr, _, _ := serve(t, exports, Options{})
	for range 5 {
		cl := dial(t, addr)
		cl.goStructured("Now/Disk0")
		for h := range 20 {
			cl.request(cmdRead, 0, uint64(h), 0, 4<<20)
		}
		cl.c.Close()
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := dial(t, addr)
			cl.goStructured("Now/Disk0")
			off := uint64(w) << 20
			cl.request(cmdRead, cmdFlagDF, 1, off, 1<<20)
			_, typ, _, p := cl.chunk()
			if typ != replyTypeOffsetData || !bytes.Equal(p[8:], img.data[off:off+1<<20]) {
				t.Errorf("client %d: type %d, wrong bytes", w, typ)
			}
		}()
	}
	wg.Wait()
}

// Block status is not bound by the maximum block size: nbdcopy asks for
// whole gigabytes at once.
func TestBlockStatusOverMaxBlockSize(t *testing.T) {
	const size = 1 << 30
	big := &Export{Name: "big", Size: size, Data: zeroReader{}, Map: func(off, n int64) ([]Extent, error) {
		return []Extent{{Off: off, Len: n, Hole: true}}, nil
	}}
	addr, _, _ := serve(t, []*Export{big}, Options{})
	cl := dial(t, addr)
	cl.goStructured("big")
	cl.request(cmdBlockStatus, 0, 1, 0, size-1)
	_, typ, _, p := cl.chunk()
	if typ != replyTypeBlockStatus || binary.BigEndian.Uint32(p[4:]) != size-1 {
		t.Fatalf("type %d payload % x", typ, p)
	}
}

type zeroReader struct{}

func (zeroReader) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	return len(p), nil
}
