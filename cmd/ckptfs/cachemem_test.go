package main

import (
	"errors"
	"testing"

	"github.com/ckptfs/ckptfs/internal/membudget"
)

// TestCacheMem: --cache-mem sets the process's budget; without it the
// default is an eighth of the memory, between 32 MiB and 512 MiB.
func TestCacheMem(t *testing.T) {
	defer membudget.Default.SetLimit(0)
	d := defaultCacheMem()
	if d < cacheMemLeast || d > cacheMemMost {
		t.Errorf("default %d", d)
	}
	if m := memTotal(); m > 0 && d != min(cacheMemMost, max(m/8, cacheMemLeast)) && cgroupLimit() == 0 {
		t.Errorf("default %d with %d bytes of memory", d, m)
	}
	for s, want := range map[string]int64{"": d, "64M": 64 << 20, "0": 0, "2G": 2 << 30} {
		o := &sourceOptions{cacheMem: s}
		if err := o.setCacheMem(); err != nil || membudget.Default.Limit() != want {
			t.Errorf("--cache-mem %q: limit %d, %v", s, membudget.Default.Limit(), err)
		}
	}
	o := &sourceOptions{cacheMem: "much"}
	if err := o.setCacheMem(); !errors.Is(err, errUsage) {
		t.Errorf("--cache-mem much: %v", err)
	}
}
