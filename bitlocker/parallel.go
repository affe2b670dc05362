package bitlocker

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// A large read (a FUSE read of the mount asks for up to 1 MiB, ckptfs cp
// and cat as much) is decrypted in pieces of pieceBytes: the calling
// goroutine and up to GOMAXPROCS-1 helpers, shared by all Readers, each
// take the next piece until none is left. Every piece is decrypted in its
// own part of the caller's buffer, so the result is in order whoever did
// which piece. A helper that cannot be had (all busy with other reads) is
// not waited for: the caller does the work itself, so reads never queue
// behind each other here.
//
// The pieces are only decrypted here, not read: the read below stays one
// call. Read in pieces from several goroutines, a VHDX chain saw reads
// out of order and took them for several streams, each with its own
// read-ahead: a cold read of a 200 MiB file through the mount hinted 546
// MiB to the kernel in about 200 posix_fadvise calls and made 8 reads per
// MiB; in one piece it hints 321 MiB in 49 (the unencrypted volume: 298
// MiB in 45) and makes one.

// pieceBytes is the unit of work: large enough that handing it to another
// goroutine costs little against decrypting it (~100 µs per core), small
// enough that a 1 MiB read has pieces for every core. A multiple of every
// sector size.
const pieceBytes = 128 << 10

// helperTokens bounds the goroutines helping all Readers at once.
var helperTokens = make(chan struct{}, max(runtime.GOMAXPROCS(0)-1, 0))

// runPieces calls do(0), ..., do(pieces-1), on as many cores as are free;
// it returns when all calls have.
func runPieces(pieces int, do func(i int)) {
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= pieces {
				return
			}
			do(i)
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
}

// parallel decrypts buf (whole sectors read from disk offset phys) in
// place, in pieces.
func (r *Reader) parallel(buf []byte, phys int64) {
	runPieces((len(buf)+pieceBytes-1)/pieceBytes, func(i int) {
		a := i * pieceBytes
		b := min(a+pieceBytes, len(buf))
		r.decryptSectors(buf[a:b], buf[a:b], phys+int64(a))
	})
}
