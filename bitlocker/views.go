package bitlocker

import (
	"runtime/debug"
	"sync/atomic"
)

// Reading through views. A read through ReadAt copies every byte twice
// before it is decrypted in place: from the page cache into the buffer
// (the read below), and again when the caller passes the buffer on (a FUSE
// reply). When the volume's io.ReaderAt can instead show its bytes where
// they already lie in memory (a VHDX chain's files mapped read-only:
// vhdx.Chain.Views), the Reader decrypts straight from those views into
// the caller's buffer, and the first copy is gone: a cold read of a 200
// MiB file through the mount spent a sixth of its CPU time in it.
//
// Memory mapped from a file faults when the file cannot give the bytes (an
// I/O error, a file cut short under the mount). Such a fault is turned
// into a panic of the goroutine that touched the memory
// (debug.SetPanicOnFault), recovered, and the read is done again through
// ReadAt, which reports the error as an error.

// Viewer is an io.ReaderAt that can also show its bytes as read-only
// slices (views) of memory that holds them, as vhdx.Chain.Views does. A
// Volume whose reader is a Viewer decrypts large reads from the views.
type Viewer interface {
	// Views returns the bytes of [off, off+n), in order, or ok false when
	// some part of them cannot be shown (then ReadAt is used). The views
	// are not written to and stay valid while the reader is open.
	Views(off int64, n int) (views [][]byte, ok bool)
}

// minViewRead is the smallest read taken from views: below it the read
// and its copy cost little next to the decryption, and the views' own
// bookkeeping (and a page fault per page mapped for the first time) would
// cost as much.
const minViewRead = 64 << 10

// viewPiece is one piece of a view read: the view bytes that decrypt
// into buf[at:].
type viewPiece struct {
	at  int
	src []byte
}

// readViews decrypts buf (whole sectors at disk offset phys) from the
// views of the reader below. It returns false, having written buf or not,
// when the read must go through ReadAt: no views, views that split a
// sector, or memory that faulted.
func (r *Reader) readViews(buf []byte, phys int64) bool {
	views, ok := r.view.Views(phys, len(buf))
	if !ok {
		return false
	}
	var arr [32]viewPiece // a 1 MiB read of one VHDX block has 8
	pieces := arr[:0]
	at := 0
	for _, v := range views {
		if int64(len(v))%r.ss != 0 || len(v) > len(buf)-at {
			return false // a sector split between two views: rare, not worth a path
		}
		for len(v) > 0 {
			k := min(len(v), pieceBytes)
			pieces = append(pieces, viewPiece{at, v[:k:k]})
			v, at = v[k:], at+k
		}
	}
	if at != len(buf) {
		return false
	}
	var faulted atomic.Bool
	runPieces(len(pieces), func(i int) {
		p := pieces[i]
		if !r.decryptView(buf[p.at:p.at+len(p.src)], p.src, phys+int64(p.at)) {
			faulted.Store(true)
		}
	})
	return !faulted.Load()
}

// decryptView decrypts src, a view, into dst, and reports false if its
// pages cannot all be had.
func (r *Reader) decryptView(dst, src []byte, phys int64) bool {
	return populate(src) && r.decryptGuarded(dst, src, phys)
}

// decryptGuarded decrypts src into dst and reports false if reading src
// faulted: populate passed, and the file was cut short afterwards.
func (r *Reader) decryptGuarded(dst, src []byte, phys int64) (ok bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if e := recover(); e != nil {
			if _, fault := e.(interface{ Addr() uintptr }); !fault {
				panic(e)
			}
			ok = false
		}
	}()
	r.decryptSectors(dst, src, phys)
	return true
}
