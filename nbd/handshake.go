package nbd

import (
	"crypto/tls"
	"errors"
	"fmt"
)

// session is what the handshake agreed on for the transmission phase.
type session struct {
	export     *Export
	structured bool // NBD_OPT_STRUCTURED_REPLY acknowledged
	allocation bool // base:allocation selected for this export
}

// errAbort ends a handshake the client ended itself (NBD_OPT_ABORT).
var errAbort = errors.New("client aborted the handshake")

// errProtocol is a client breaking a MUST of the protocol; the
// connection is dropped.
var errProtocol = errors.New("protocol violation")

// negotiation is the state of one connection's option haggling.
type negotiation struct {
	s          *Server
	c          *conn
	noZeroes   bool
	structured bool
	tls        bool
	// metaExport and metaAlloc remember the last NBD_OPT_SET_META_CONTEXT:
	// it selects contexts for one export only.
	metaExport *Export
	metaAlloc  bool
}

// handshake runs the fixed newstyle negotiation until the client picks an
// export (or aborts, or breaks the protocol).
func (s *Server) handshake(c *conn) (*session, error) {
	hello := buf(nil).u64(magicInit).u64(magicOption).u16(flagFixedNewstyle | flagNoZeroes)
	if err := c.send(hello); err != nil {
		return nil, err
	}
	cflags, err := c.u32()
	if err != nil {
		return nil, err
	}
	if cflags&^uint32(flagCFixedNewstyle|flagCNoZeroes) != 0 {
		return nil, fmt.Errorf("%w: unknown client flags %#x", errProtocol, cflags)
	}
	// A client without the fixed-newstyle bit is served as if it had set
	// it, as the protocol allows: it only ever sends NBD_OPT_EXPORT_NAME.
	n := &negotiation{s: s, c: c, noZeroes: cflags&flagCNoZeroes != 0}
	for {
		sess, err := n.option()
		if sess != nil || err != nil {
			return sess, err
		}
	}
}

// option reads and answers one option; it returns a session when the
// client enters transmission.
func (n *negotiation) option() (*session, error) {
	var hdr [16]byte
	if err := n.c.readFull(hdr[:]); err != nil {
		return nil, err
	}
	cur := cursor{b: hdr[:]}
	magic := uint64(cur.u32())<<32 | uint64(cur.u32())
	opt, length := cur.u32(), cur.u32()
	if magic != magicOption {
		return nil, fmt.Errorf("%w: bad option magic %#x", errProtocol, magic)
	}
	if length > maxOptionData {
		if opt == optExportName || length > 16*maxOptionData {
			return nil, fmt.Errorf("%w: option %d carries %d bytes", errProtocol, opt, length)
		}
		if err := n.c.discard(int64(length)); err != nil {
			return nil, err
		}
		return nil, n.reply(opt, repErrTooBig, "option data too long")
	}
	data := make([]byte, length)
	if err := n.c.readFull(data); err != nil {
		return nil, err
	}
	if n.s.opt.TLS != nil && !n.tls && opt != optStartTLS && opt != optAbort {
		if opt == optExportName {
			return nil, fmt.Errorf("%w: export chosen before TLS", errProtocol)
		}
		return nil, n.reply(opt, repErrTLSReqd, "this server requires TLS (NBD_OPT_STARTTLS)")
	}
	if n.s.isShutdown() && opt != optAbort {
		return nil, n.reply(opt, repErrShutdown, "server shutting down")
	}
	switch opt {
	case optExportName:
		return n.exportName(string(data))
	case optAbort:
		_ = n.reply(opt, repAck, "")
		return nil, errAbort
	case optList:
		return nil, n.list(data)
	case optStartTLS:
		return nil, n.startTLS(data)
	case optInfo, optGo:
		return n.infoGo(opt, data)
	case optStructuredReply:
		if len(data) != 0 {
			return nil, n.reply(opt, repErrInvalid, "NBD_OPT_STRUCTURED_REPLY takes no data")
		}
		n.structured = true
		return nil, n.reply(opt, repAck, "")
	case optListMetaContext, optSetMetaContext:
		return nil, n.metaContext(opt, data)
	}
	return nil, n.reply(opt, repErrUnsup, fmt.Sprintf("option %d is not supported", opt))
}

// reply sends one option reply; for an error type, msg is its text.
func (n *negotiation) reply(opt, typ uint32, msg string) error {
	return n.replyData(opt, typ, []byte(msg))
}

func (n *negotiation) replyData(opt, typ uint32, data []byte) error {
	hdr := buf(nil).u64(magicOptionReply).u32(opt).u32(typ).u32(uint32(len(data)))
	return n.c.send(hdr, data)
}

// exportName is the old way into transmission: no way to refuse but to
// hang up.
func (n *negotiation) exportName(name string) (*session, error) {
	e := n.s.lookup(name)
	if e == nil {
		return nil, fmt.Errorf("no export named %q", name)
	}
	b := buf(nil).u64(uint64(e.Size)).u16(exportFlags(n.structured))
	if !n.noZeroes {
		b = append(b, make([]byte, 124)...)
	}
	if err := n.c.send(b); err != nil {
		return nil, err
	}
	return n.session(e), nil
}

func (n *negotiation) session(e *Export) *session {
	return &session{export: e, structured: n.structured, allocation: n.metaAlloc && n.metaExport == e}
}

func (n *negotiation) list(data []byte) error {
	if len(data) != 0 {
		return n.reply(optList, repErrInvalid, "NBD_OPT_LIST takes no data")
	}
	for _, e := range n.s.order {
		b := buf(nil).u32(uint32(len(e.Name)))
		b = append(append(b, e.Name...), e.Description...)
		if err := n.replyData(optList, repServer, b); err != nil {
			return err
		}
	}
	return n.reply(optList, repAck, "")
}

func (n *negotiation) startTLS(data []byte) error {
	switch {
	case n.s.opt.TLS == nil:
		return n.reply(optStartTLS, repErrPolicy, "TLS is not configured on this server")
	case n.tls:
		return n.reply(optStartTLS, repErrInvalid, "TLS is already on")
	case len(data) != 0:
		return n.reply(optStartTLS, repErrInvalid, "NBD_OPT_STARTTLS takes no data")
	}
	if err := n.reply(optStartTLS, repAck, ""); err != nil {
		return err
	}
	tc := tls.Server(n.c.net, n.s.opt.TLS)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	n.c.upgrade(tc)
	n.tls = true
	return nil
}

// infoGo answers NBD_OPT_INFO and NBD_OPT_GO: the export's size and
// flags, the names and block sizes asked for; GO then enters transmission.
func (n *negotiation) infoGo(opt uint32, data []byte) (*session, error) {
	cur := cursor{b: data}
	name := cur.str()
	count := cur.u16()
	var requests []uint16
	for i := 0; i < int(count) && !cur.bad; i++ {
		requests = append(requests, cur.u16())
	}
	if !cur.done() {
		return nil, n.reply(opt, repErrInvalid, "malformed NBD_OPT_INFO/GO data")
	}
	e := n.s.lookup(name)
	if e == nil {
		return nil, n.reply(opt, repErrUnknown, fmt.Sprintf("no export named %q (NBD_OPT_LIST lists them)", name))
	}
	infos := [][]byte{buf(nil).u16(infoExport).u64(uint64(e.Size)).u16(exportFlags(n.structured))}
	for _, r := range requests {
		switch r {
		case infoName:
			infos = append(infos, append(buf(nil).u16(infoName), e.Name...))
		case infoDescription:
			if e.Description != "" {
				infos = append(infos, append(buf(nil).u16(infoDescription), e.Description...))
			}
		}
	}
	// Block sizes go out whether asked for or not: any byte range can be
	// read, 4 KiB is what the disk layers like, 32 MiB the most one
	// request may ask.
	infos = append(infos, buf(nil).u16(infoBlockSize).u32(1).u32(4096).u32(maxRequest))
	for _, info := range infos {
		if err := n.replyData(opt, repInfo, info); err != nil {
			return nil, err
		}
	}
	if err := n.reply(opt, repAck, ""); err != nil {
		return nil, err
	}
	if opt == optGo {
		return n.session(e), nil
	}
	return nil, nil
}

// metaContext answers NBD_OPT_LIST_META_CONTEXT and
// NBD_OPT_SET_META_CONTEXT; base:allocation is the only context.
func (n *negotiation) metaContext(opt uint32, data []byte) error {
	if !n.structured {
		return n.reply(opt, repErrInvalid, "negotiate structured replies first")
	}
	cur := cursor{b: data}
	name := cur.str()
	count := cur.u32()
	if count > 256 {
		return n.reply(opt, repErrInvalid, "too many metadata context queries")
	}
	list := opt == optListMetaContext
	match := list && count == 0
	for i := uint32(0); i < count && !cur.bad; i++ {
		q := cur.str()
		match = match || q == contextBaseAllocation || (list && q == "base:")
	}
	if !cur.done() {
		return n.reply(opt, repErrInvalid, "malformed metadata context data")
	}
	e := n.s.lookup(name)
	if e == nil {
		return n.reply(opt, repErrUnknown, fmt.Sprintf("no export named %q", name))
	}
	if match {
		id := uint32(contextIDAllocation)
		if list {
			id = 0 // reserved in list replies
		}
		if err := n.replyData(opt, repMetaContext, append(buf(nil).u32(id), contextBaseAllocation...)); err != nil {
			return err
		}
	}
	if !list {
		n.metaExport, n.metaAlloc = e, match
	}
	return n.reply(opt, repAck, "")
}
