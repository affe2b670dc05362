//go:build linux

package xfs

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// TestMutations damages random bytes of the tiny volume's metadata, a few
// at a time, and reads everything reachable: every variant must finish
// quickly without panicking. Deterministic (fixed seed), unlike fuzzing.
func TestMutations(t *testing.T) {
	im := loadTiny(t)
	sb := im.v.sb
	from, _ := sb.fsbToByte(sb.logStart)
	seed := encodeSparse(im.b, from, from+int64(sb.logBlocks)<<sb.blockLog)
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 600; i++ {
		d := append([]byte(nil), seed...)
		for range 1 + r.Intn(8) {
			d[r.Intn(len(d))] = byte(r.Intn(256))
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if v, err := NewFS(decodeSparse(d), fuzzVolSize); err == nil {
				exerciseVolume(v, 300)
			}
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			panic(fmt.Sprintf("mutation %d still running after 20 s", i)) // the panic dumps the stuck goroutine
		}
	}
}
