package nbd

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzSession feeds arbitrary client bytes (handshake, options, requests)
// to a server over an in-memory pipe: no panic, no hang, no unbounded
// allocation.
func FuzzSession(f *testing.F) {
	hello := buf(nil).u32(flagCFixedNewstyle | flagCNoZeroes)
	opt := func(o uint32, d []byte) []byte {
		return append(buf(nil).u64(magicOption).u32(o).u32(uint32(len(d))), d...)
	}
	name := "x"
	goData := append(buf(nil).u32(uint32(len(name))), name...).u16(1).u16(infoName)
	meta := append(buf(nil).u32(uint32(len(name))), name...)
	meta = append(meta.u32(1).u32(uint32(len(contextBaseAllocation))), contextBaseAllocation...)
	req := func(typ, flags uint16, off uint64, n uint32) []byte {
		return buf(nil).u32(magicRequest).u16(flags).u16(typ).u64(1).u64(off).u32(n)
	}
	var s []byte
	s = append(s, hello...)
	s = append(s, opt(optStructuredReply, nil)...)
	s = append(s, opt(optSetMetaContext, meta)...)
	s = append(s, opt(optList, nil)...)
	s = append(s, opt(optGo, goData)...)
	s = append(s, req(cmdRead, 0, 0, 4096)...)
	s = append(s, req(cmdBlockStatus, 0, 0, 1<<20)...)
	s = append(s, req(cmdWrite, 0, 0, 8)...)
	s = append(s, make([]byte, 8)...)
	s = append(s, req(cmdDisc, 0, 0, 0)...)
	f.Add(s)
	f.Add(append(append([]byte{}, hello...), opt(optExportName, []byte(name))...))
	f.Add([]byte{0, 0, 0, 3})
	f.Fuzz(func(t *testing.T, in []byte) {
		img := newSparseImage()
		srv, err := NewServer([]*Export{{Name: "x", Size: int64(len(img.data)), Data: img, Map: img.Map}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		a, b := net.Pipe()
		done := make(chan struct{})
		go func() {
			srv.serveConn(a)
			close(done)
		}()
		go io.Copy(io.Discard, b)
		_ = b.SetWriteDeadline(time.Now().Add(2 * time.Second))
		_, _ = io.Copy(b, bytes.NewReader(in))
		b.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("server did not finish after the client closed")
		}
	})
}
