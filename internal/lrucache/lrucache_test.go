package lrucache

import (
	"testing"

	"github.com/ckptfs/ckptfs/internal/membudget"
)

// TestWeightAndOrder: the cache holds at most its bound of weight,
// dropping the least recently used (a Get makes an entry recent); a value
// heavier than the bound is not kept; a Put replaces.
func TestWeightAndOrder(t *testing.T) {
	c := New[string, []int](4, func(v []int) int { return len(v) })
	c.Put("a", []int{1})
	c.Put("b", []int{1, 2})
	c.Get("a")
	c.Put("c", []int{1}) // 4 of 4
	c.Put("d", []int{1}) // past it: b, the least recently used, goes
	if _, ok := c.Get("b"); ok {
		t.Error("b kept past the bound")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := c.Get(k); !ok {
			t.Errorf("%s dropped", k)
		}
	}
	c.Put("huge", make([]int, 5))
	if _, ok := c.Get("huge"); ok || c.Len() != 3 {
		t.Errorf("a value heavier than the bound: kept %v, %d entries", ok, c.Len())
	}
	c.Put("a", []int{7})
	if v, _ := c.Get("a"); len(v) != 1 || v[0] != 7 || c.Len() != 3 {
		t.Errorf("replaced a = %v, %d entries", v, c.Len())
	}
	if c.Bytes() != 0 {
		t.Errorf("%d bytes counted without a budget", c.Bytes())
	}
}

// TestBudget: the cache counts its bytes in its budget, gives them back
// when entries go, and sheds when the budget passes its limit.
func TestBudget(t *testing.T) {
	b := &membudget.Budget{}
	c := New[int, []byte](100, func([]byte) int { return 1 }).
		Budget(b, "test", func(v []byte) int64 { return int64(len(v)) })
	for i := range 10 {
		c.Put(i, make([]byte, 1000))
	}
	want := int64(10 * (1000 + entryBytes))
	if c.Bytes() != want || b.Used() != want {
		t.Fatalf("held %d, budget %d, want %d", c.Bytes(), b.Used(), want)
	}
	c.Put(3, make([]byte, 10))
	want -= 990
	if c.Bytes() != want {
		t.Errorf("after a replacement %d, want %d", c.Bytes(), want)
	}
	b.SetLimit(want / 2)
	if b.Used() > want/2 || c.Len() == 10 {
		t.Errorf("over the limit: %d bytes, %d entries", b.Used(), c.Len())
	}
	c.Clear()
	if c.Len() != 0 || c.Bytes() != 0 || b.Used() != 0 {
		t.Errorf("after Clear: %d entries, %d bytes, budget %d", c.Len(), c.Bytes(), b.Used())
	}
}
