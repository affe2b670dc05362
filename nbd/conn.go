package nbd

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"time"
)

// conn is one client connection: buffered in both directions, with the
// writer shared by the goroutines that serve requests concurrently.
type conn struct {
	net net.Conn // the socket, or the TLS connection over it
	r   *bufio.Reader

	wmu sync.Mutex
	w   *bufio.Writer
}

func newConn(c net.Conn) *conn {
	return &conn{net: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 256<<10)}
}

// upgrade switches the connection to c (TLS over the same socket). The
// read buffer is empty at that point: the client waits for our reply to
// NBD_OPT_STARTTLS before it starts its TLS handshake.
func (c *conn) upgrade(tc net.Conn) {
	c.net = tc
	c.r = bufio.NewReaderSize(tc, 64<<10)
	c.w = bufio.NewWriterSize(tc, 256<<10)
}

func (c *conn) close() { _ = c.net.Close() }

func (c *conn) readFull(p []byte) error {
	_, err := io.ReadFull(c.r, p)
	return err
}

func (c *conn) u32() (uint32, error) {
	var b [4]byte
	if err := c.readFull(b[:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b[:]), nil
}

// discard skips n bytes of a payload we do not keep.
func (c *conn) discard(n int64) error {
	_, err := io.CopyN(io.Discard, c.r, n)
	return err
}

// send writes one message (its parts in order) under the writer lock and
// flushes it, within writeTimeout.
func (c *conn) send(parts ...[]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.net.SetWriteDeadline(time.Now().Add(writeTimeout))
	for _, p := range parts {
		if _, err := c.w.Write(p); err != nil {
			return err
		}
	}
	return c.w.Flush()
}

// buf is an append-only big-endian encoder for message headers.
type buf []byte

func (b buf) u16(v uint16) buf { return binary.BigEndian.AppendUint16(b, v) }
func (b buf) u32(v uint32) buf { return binary.BigEndian.AppendUint32(b, v) }
func (b buf) u64(v uint64) buf { return binary.BigEndian.AppendUint64(b, v) }

// cursor reads big-endian fields from an option payload, remembering
// whether it ran past the end instead of failing at each step.
type cursor struct {
	b   []byte
	bad bool
}

func (c *cursor) take(n uint64) []byte {
	if c.bad || n > uint64(len(c.b)) {
		c.bad = true
		return nil
	}
	out := c.b[:n]
	c.b = c.b[n:]
	return out
}

func (c *cursor) u16() uint16 {
	if p := c.take(2); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (c *cursor) u32() uint32 {
	if p := c.take(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

// str reads a length-prefixed string, refusing one over the protocol's
// 4096-byte bound.
func (c *cursor) str() string {
	n := c.u32()
	if n > maxString {
		c.bad = true
		return ""
	}
	return string(c.take(uint64(n)))
}

// done reports whether the payload was read exactly to its end.
func (c *cursor) done() bool { return !c.bad && len(c.b) == 0 }
