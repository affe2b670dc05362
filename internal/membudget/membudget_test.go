package membudget_test

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/gencache"
	"github.com/ckptfs/ckptfs/internal/membudget"
)

func blocks(b *membudget.Budget, name string, max int) *gencache.Cache[int, []byte] {
	return gencache.New[int, []byte](max, func([]byte) int { return 1 }).
		Budget(b, name, func(p []byte) int64 { return int64(cap(p)) })
}

// TestColdestFirst: past the limit, a cache not used lately gives up all
// it holds before the cache in use loses anything.
func TestColdestFirst(t *testing.T) {
	b := &membudget.Budget{}
	b.SetLimit(64 << 10)
	cold, hot := blocks(b, "cold", 100), blocks(b, "hot", 100)
	for i := range 6 {
		cold.Put(i, make([]byte, 4<<10))
	}
	for i := range 14 {
		hot.Put(i, make([]byte, 4<<10))
	}
	if b.Used() > b.Limit() {
		t.Fatalf("used %d, limit %d", b.Used(), b.Limit())
	}
	if cold.Bytes() != 0 {
		t.Errorf("the cold cache still holds %d bytes", cold.Bytes())
	}
	for i := range 14 {
		if !hot.Has(i) {
			t.Errorf("hot cache lost %d", i)
		}
	}
	if got := cold.Bytes() + hot.Bytes(); got != b.Used() {
		t.Errorf("caches hold %d, the budget counts %d", got, b.Used())
	}
}

// TestOneCache: a cache alone past the limit sheds its older generation,
// then everything, and stays usable; the total passes the limit by one
// value at most.
func TestOneCache(t *testing.T) {
	b := &membudget.Budget{}
	b.SetLimit(40 << 10)
	c := blocks(b, "c", 1000)
	for i := range 100 {
		c.Put(i, make([]byte, 4<<10))
		if b.Used() > b.Limit() {
			t.Fatalf("put %d: used %d", i, b.Used())
		}
	}
	c.Put(100, make([]byte, 4<<10))
	if v, ok := c.Get(100); !ok || len(v) != 4<<10 {
		t.Error("the cache is not usable after trimming")
	}
	peak, maxAdd := b.Peak()
	if peak > b.Limit()+maxAdd {
		t.Errorf("peak %d past limit %d + one value %d", peak, b.Limit(), maxAdd)
	}
}

// TestReleased: what a cache no longer reachable held leaves the total.
func TestReleased(t *testing.T) {
	b := &membudget.Budget{}
	func() {
		c := blocks(b, "gone", 10)
		c.Put(1, make([]byte, 1000))
	}()
	for i := 0; i < 100 && b.Used() != 0; i++ {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	if b.Used() != 0 {
		t.Errorf("used %d after the cache was collected", b.Used())
	}
	if u := b.Usage(); len(u) != 0 {
		t.Errorf("usage %v", u)
	}
}

// TestConcurrent: caches filled and read from many goroutines at once keep
// the total within the limit plus one value a goroutine, and their own
// counts match the budget's.
func TestConcurrent(t *testing.T) {
	b := &membudget.Budget{}
	b.SetLimit(256 << 10)
	const workers = 4
	caches := make([]*gencache.Cache[int, []byte], 8)
	for i := range caches {
		caches[i] = blocks(b, "c", 16)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				c := caches[(i/50+w)%len(caches)]
				if _, ok := c.Get(i % 40); !ok {
					c.Put(i%40, make([]byte, 1<<10+i%7*512))
				}
			}
		}()
	}
	wg.Wait()
	peak, maxAdd := b.Peak()
	if peak > b.Limit()+workers*maxAdd {
		t.Errorf("peak %d past limit %d + %d values of %d", peak, b.Limit(), workers, maxAdd)
	}
	var sum int64
	for _, c := range caches {
		sum += c.Bytes()
	}
	if sum != b.Used() {
		t.Errorf("caches hold %d, the budget counts %d", sum, b.Used())
	}
}
