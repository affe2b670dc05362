package gencache

import (
	"testing"

	"github.com/ckptfs/ckptfs/internal/membudget"
)

// TestGenerations: a value survives one turn of generations, is moved up
// by a hit, and is dropped after two turns without one; the weight held
// never passes twice the bound.
func TestGenerations(t *testing.T) {
	c := New[int, int](3, func(int) int { return 1 })
	for k := range 3 {
		c.Put(k, k*10)
	}
	c.Put(3, 30) // 0-2 are the older generation now
	if v, ok := c.Get(1); !ok || v != 10 {
		t.Fatalf("1: %d %v", v, ok)
	}
	// cur holds 3 and 1: two more puts turn the generations.
	c.Put(4, 40)
	c.Put(5, 50)
	if c.Has(0) || c.Has(2) {
		t.Error("values not used for two turns are still cached")
	}
	for _, k := range []int{1, 3, 4, 5} {
		if !c.Has(k) {
			t.Errorf("%d was dropped", k)
		}
	}
	if len(c.cur)+len(c.old) > 6 || c.n > 3 {
		t.Errorf("holds %d + %d values, weight %d", len(c.cur), len(c.old), c.n)
	}
}

// TestWeight: a heavy value turns the generation by itself.
func TestWeight(t *testing.T) {
	c := New[string, []int](10, func(v []int) int { return len(v) })
	c.Put("a", make([]int, 6))
	c.Put("b", make([]int, 6)) // 12 > 10: a goes to the older generation
	c.Put("c", make([]int, 6)) // b goes older, a is dropped
	if c.Has("a") || !c.Has("b") || !c.Has("c") {
		t.Errorf("a %v b %v c %v", c.Has("a"), c.Has("b"), c.Has("c"))
	}
}

// BenchmarkGet is a hit, the path a walk takes for every entry, without
// and with an account in a budget (which adds a Touch: two atomic loads).
func BenchmarkGet(b *testing.B) {
	for _, budget := range []bool{false, true} {
		name := "alone"
		c := New[int, []byte](1024, func([]byte) int { return 1 })
		if budget {
			name = "budget"
			mb := &membudget.Budget{}
			mb.SetLimit(1 << 30)
			c.Budget(mb, "bench", func(p []byte) int64 { return int64(cap(p)) })
		}
		for i := range 512 {
			c.Put(i, make([]byte, 64))
		}
		b.Run(name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					c.Get(i & 511)
					i++
				}
			})
		})
	}
}
