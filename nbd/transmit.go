package nbd

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// request is one transmission-phase request header.
type request struct {
	flags, typ uint16
	handle     uint64
	off        uint64
	length     uint32
}

func parseRequest(b []byte) (request, error) {
	cur := cursor{b: b}
	magic := cur.u32()
	r := request{flags: cur.u16(), typ: cur.u16()}
	r.handle = uint64(cur.u32())<<32 | uint64(cur.u32())
	r.off = uint64(cur.u32())<<32 | uint64(cur.u32())
	r.length = cur.u32()
	if !cur.done() {
		return r, fmt.Errorf("%w: short request header", errProtocol)
	}
	if magic != magicRequest {
		return r, fmt.Errorf("%w: bad request magic %#x", errProtocol, magic)
	}
	return r, nil
}

// transmit serves requests until the client disconnects. Reads and block
// status queries run concurrently, each holding its length against the
// connection's budget, so a client cannot make the server hold more than
// MaxInFlight bytes however many requests it queues.
func (s *Server) transmit(c *conn, sess *session) error {
	t := &transmission{c: c, sess: sess, budget: newBudget(s.opt.MaxInFlight)}
	defer t.wg.Wait()
	for {
		var hdr [28]byte
		if err := c.readFull(hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		r, err := parseRequest(hdr[:])
		if err != nil {
			return err
		}
		if r.flags&cmdFlagPayload != 0 && r.typ != cmdWrite {
			// Only with extended headers, which this server never offers.
			return fmt.Errorf("%w: payload flag on command %d", errProtocol, r.typ)
		}
		switch r.typ {
		case cmdDisc:
			return nil
		case cmdWrite:
			if err := c.discard(int64(r.length)); err != nil {
				return err
			}
			err = t.fail(r, errPerm, "read-only export")
		case cmdTrim, cmdWriteZeroes:
			err = t.fail(r, errPerm, "read-only export")
		case cmdRead, cmdBlockStatus:
			err = t.spawn(r)
		default:
			err = t.fail(r, errInval, fmt.Sprintf("command %d is not supported", r.typ))
		}
		if err != nil {
			return err
		}
		if t.broken() {
			return errors.New("reply could not be sent")
		}
	}
}

// transmission is the state of one connection's transmission phase.
type transmission struct {
	c      *conn
	sess   *session
	budget *budget
	wg     sync.WaitGroup

	mu     sync.Mutex
	failed bool
}

// spawn serves a read or block status query in its own goroutine once
// the budget holds its length.
func (t *transmission) spawn(r request) error {
	cost := int64(r.length)
	if r.typ == cmdBlockStatus {
		// Its reply holds descriptors, not data: bounded by their count.
		cost = maxDescriptors * 8
	} else if r.length > maxRequest {
		errno := uint32(errInval)
		if r.typ == cmdRead && r.flags&cmdFlagDF != 0 {
			errno = errOverflow
		}
		return t.fail(r, errno, fmt.Sprintf("request of %d bytes is over the %d-byte maximum", r.length, maxRequest))
	}
	t.budget.acquire(cost)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer t.budget.release(cost)
		var err error
		if r.typ == cmdRead {
			err = t.read(r)
		} else {
			err = t.blockStatus(r)
		}
		if err != nil {
			t.mu.Lock()
			t.failed = true
			t.mu.Unlock()
			// The client can no longer be told anything coherent; cutting
			// the connection also ends the request loop.
			t.c.close()
		}
	}()
	return nil
}

func (t *transmission) broken() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

// inRange checks a request against the export's size.
func (t *transmission) inRange(r request) bool {
	size := uint64(t.sess.export.Size)
	return r.off <= size && uint64(r.length) <= size-r.off
}

// fail answers a request with an error: a structured error chunk when
// structured replies are on (with a message for the user), else a simple
// reply.
func (t *transmission) fail(r request, errno uint32, msg string) error {
	if !t.sess.structured {
		return t.c.send(buf(nil).u32(magicSimple).u32(errno).u64(r.handle))
	}
	if len(msg) > maxString {
		msg = msg[:maxString]
	}
	payload := append(buf(nil).u32(errno).u16(uint16(len(msg))), msg...)
	return t.chunk(r, replyFlagDone, replyTypeError, payload)
}

// chunk sends one structured reply chunk.
func (t *transmission) chunk(r request, flags, typ uint16, parts ...[]byte) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	hdr := buf(nil).u32(magicStructured).u16(flags).u16(typ).u64(r.handle).u32(uint32(n))
	return t.c.send(append([][]byte{hdr}, parts...)...)
}

// budget is a counting semaphore over bytes.
type budget struct {
	mu    sync.Mutex
	cond  *sync.Cond
	avail int64
}

func newBudget(n int64) *budget {
	b := &budget{avail: n}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *budget) acquire(n int64) {
	b.mu.Lock()
	for b.avail < n {
		b.cond.Wait()
	}
	b.avail -= n
	b.mu.Unlock()
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	b.avail += n
	b.mu.Unlock()
	b.cond.Broadcast()
}
