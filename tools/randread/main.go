//go:build linux

// Command randread measures random reads of a file: T goroutines issue
// pread of SIZE bytes at random aligned offsets for a fixed time, then it
// prints the operations per second and MB/s. `make bench` runs it against
// a ckptfs mount and a vhdimount of the same chain.
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// aligned returns a buffer whose address is a multiple of 4096, as
// O_DIRECT requires.
func aligned(n int) []byte {
	b := make([]byte, n+4096)
	off := int(uintptr(unsafe.Pointer(&b[0])) & 4095)
	if off != 0 {
		off = 4096 - off
	}
	return b[off : off+n]
}

func main() {
	threads := flag.Int("t", 4, "concurrent readers")
	size := flag.Int("bs", 4096, "bytes per read")
	dur := flag.Duration("d", 5*time.Second, "how long to read")
	direct := flag.Bool("direct", false, "O_DIRECT: bypass the page cache of the file read, so every read reaches its file system")
	flag.Parse()
	mode := os.O_RDONLY
	if *direct {
		mode |= syscall.O_DIRECT
	}
	f, err := os.OpenFile(flag.Arg(0), mode, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	st, _ := f.Stat()
	slots := st.Size() / int64(*size)
	var ops atomic.Int64
	deadline := time.Now().Add(*dur)
	var wg sync.WaitGroup
	for t := 0; t < *threads; t++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			buf := aligned(*size)
			for time.Now().Before(deadline) {
				if _, err := f.ReadAt(buf, rng.Int63n(slots)*int64(*size)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				ops.Add(1)
			}
		}(int64(t) + 1)
	}
	wg.Wait()
	n := ops.Load()
	secs := dur.Seconds()
	fmt.Printf("%.0f ops/s %.1f MB/s\n", float64(n)/secs, float64(n)*float64(*size)/secs/1e6)
}
