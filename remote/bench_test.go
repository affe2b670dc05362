package remote

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// benchChain builds a 4-layer chain of 256 MiB with tools/benchchain
// (every block of every child partial) into a temp folder.
func benchChain(b *testing.B) string {
	dir := b.TempDir()
	testutil.Run(b, "go", "run", filepath.Join(testutil.RepoRoot(), "tools", "benchchain"),
		"-o", dir, "-size", fmt.Sprint(256<<20), "-block-size", fmt.Sprint(32<<20), "-layers", "4")
	return dir
}

// BenchmarkHTTPSequential reads the raw image of the top of a 4-layer
// chain served by nginx, 1 MiB at a time as dd does through the mount,
// and, on the same server, downloads the chain's files with plain ranged
// GETs (8 MiB, 4 in flight, like a parallel curl): the two rates and the
// requests each took are reported.
func BenchmarkHTTPSequential(b *testing.B) {
	dir := benchChain(b)
	srv := testutil.Nginx(b, dir, "")
	base := fmt.Sprintf("http://127.0.0.1:%d/", srv.Port)
	o := Options{Timeout: 30 * time.Second, ReadAhead: readAheadBench}
	var chainMBs, plainMBs float64
	var chainReqs, plainReqs int64
	for i := 0; i < b.N; i++ {
		Configure(o) // a cold cache each round
		name, s, err := Resolve(base + "layer3.avhdx")
		if err != nil {
			b.Fatal(err)
		}
		r0 := Counters().Requests
		start := time.Now()
		c, err := catalog.Open(name, catalog.Options{Source: s})
		if err != nil {
			b.Fatal(err)
		}
		var ch interface {
			io.ReaderAt
			Size() int64
		}
		for _, vm := range c.VMs {
			for _, cp := range vm.Checkpoints {
				if cp.Name == "Now" {
					ch = cp.Disks[0].Chain
				}
			}
		}
		buf := make([]byte, 1<<20)
		for off := int64(0); off < ch.Size(); off += int64(len(buf)) {
			if _, err := ch.ReadAt(buf, off); err != nil && err != io.EOF {
				b.Fatal(err)
			}
		}
		d := time.Since(start)
		chainMBs = float64(ch.Size()) / d.Seconds() / 1e6
		chainReqs = Counters().Requests - r0
		c.Close()

		// The plain download of the chain's files.
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		var total int64
		var reqs int64
		var mu sync.Mutex
		start = time.Now()
		sem := make(chan struct{}, 4)
		var wg sync.WaitGroup
		for _, f := range files {
			st, _ := os.Stat(f)
			total += st.Size()
			for off := int64(0); off < st.Size(); off += 8 << 20 {
				wg.Add(1)
				sem <- struct{}{}
				go func(u string, off int64) {
					defer wg.Done()
					defer func() { <-sem }()
					req, _ := http.NewRequest("GET", u, nil)
					req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+8<<20-1))
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					// 1 MiB reads: io.Copy into io.Discard reads 8 KiB
					// at a time, a system call each, which slowed the
					// plain download.
					buf := make([]byte, 1<<20)
					for {
						if _, err := resp.Body.Read(buf); err != nil {
							break
						}
					}
					resp.Body.Close()
					mu.Lock()
					reqs++
					mu.Unlock()
				}(base+filepath.Base(f), off)
			}
		}
		wg.Wait()
		plainMBs = float64(total) / time.Since(start).Seconds() / 1e6
		plainReqs = reqs
	}
	b.ReportMetric(chainMBs, "chain-MB/s")
	b.ReportMetric(plainMBs, "plain-MB/s")
	b.ReportMetric(float64(chainReqs), "chain-requests")
	b.ReportMetric(float64(plainReqs), "plain-requests")
	b.ReportMetric(chainMBs/plainMBs, "ratio")
}

// readAheadBench is the read-ahead measured (0: the default).
var readAheadBench int64 = 0
