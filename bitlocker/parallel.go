package bitlocker

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// A large read (a FUSE read of the mount asks for up to 1 MiB, ckptfs cp
// and export more) is cut into pieces of pieceBytes; the calling goroutine
// and up to GOMAXPROCS-1 helpers, shared by all Readers, each take the
// next piece, read it and decrypt it, until none is left. Every piece
// lands in its own part of the caller's buffer, so the result is in order
// whoever did which piece. While one core waits for the disk on its piece
// another decrypts: the read of the layer below overlaps the decryption.
// A helper that cannot be had (all busy with other reads) is not waited
// for: the caller does the work itself, so reads never queue behind each
// other here.

// pieceBytes is the unit of work: large enough that handing it to another
// goroutine costs little against decrypting it (~100 µs per core), small
// enough that a 1 MiB read has pieces for every core. A multiple of every
// sector size.
const pieceBytes = 128 << 10

// helperTokens bounds the goroutines helping all Readers at once.
var helperTokens = make(chan struct{}, max(runtime.GOMAXPROCS(0)-1, 0))

// maxInlinePieces is how many pieces' errors fit in a read's own array;
// a larger read allocates a slice for them.
const maxInlinePieces = 16

// parallel reads and decrypts buf (whole sectors from disk offset phys)
// in pieces, on as many cores as are free. On error it returns the error
// of the first piece that failed.
func (r *Reader) parallel(buf []byte, phys int64) error {
	pieces := (len(buf) + pieceBytes - 1) / pieceBytes
	var inline [maxInlinePieces]error
	errs := inline[:0]
	if pieces <= maxInlinePieces {
		errs = inline[:pieces]
	} else {
		errs = make([]error, pieces)
	}
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= pieces {
				return
			}
			a := i * pieceBytes
			b := min(a+pieceBytes, len(buf))
			errs[i] = r.readPiece(buf[a:b], phys+int64(a))
		}
	}
	var wg sync.WaitGroup
helpers:
	for h := 1; h < pieces; h++ {
		select {
		case helperTokens <- struct{}{}:
			wg.Add(1)
			go func() {
				defer func() { <-helperTokens; wg.Done() }()
				work()
			}()
		default:
			break helpers
		}
	}
	work()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
