//go:build linux

package xfs

import (
	"fmt"
	"io/fs"
	"math/rand"
	"testing"
	"time"
)

// TestMutations damages random bytes of the tiny volume's metadata, a few
// at a time, and reads everything reachable: every variant must finish
// quickly without panicking. Deterministic (fixed seed), unlike fuzzing.
func TestMutations(t *testing.T) {
	im := loadTiny(t)
	seed := encodeSparse(im.b, 0, 0) // with the log's few records
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

// TestConcurrentReaders walks one volume from several goroutines at once
// (the mount serves many requests in parallel): with -race, the caches
// must be safe, and every walker must see the same tree.
func TestConcurrentReaders(t *testing.T) {
	im := loadTiny(t)
	done := make(chan []string)
	for range 4 {
		go func() {
			var seen []string
			_ = fs.WalkDir(im.v, ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					seen = append(seen, "error "+p)
					return nil
				}
				seen = append(seen, p)
				if d.Type().IsRegular() {
					if b, err := fs.ReadFile(im.v, p); err != nil {
						seen = append(seen, "error "+p)
					} else {
						seen = append(seen, fmt.Sprint(len(b)))
					}
				}
				if _, err := im.v.Xattrs(p); err != nil {
					seen = append(seen, "error xattrs "+p)
				}
				return nil
			})
			done <- seen
		}()
	}
	first := <-done
	for range 3 {
		if got := <-done; fmt.Sprint(got) != fmt.Sprint(first) {
			t.Errorf("walkers disagree:\n%v\n%v", got, first)
		}
	}
	if len(first) < 50 {
		t.Errorf("only %d entries", len(first))
	}
}
