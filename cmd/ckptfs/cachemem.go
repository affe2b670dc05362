package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ckptfs/ckptfs/internal/membudget"
)

// The memory budget of the volume readers' caches (internal/membudget):
// each cache is bounded per volume, and a walk across many checkpoints'
// volumes would add them up without it.
//
// The default is an eighth of the memory the process may use (physical
// memory, or its cgroup's limit when lower), at most 512 MiB. A walked
// NTFS volume of 50,000 files keeps some 33 MiB of records, listings,
// $MFT blocks and index records, an ext4 one 15 MiB: 512 MiB keeps a
// dozen volumes' caches whole, and a walk works in one at a time. On a
// 2 GiB restore box an eighth leaves the rest to what the budget does not
// cover: the FUSE inodes the kernel keeps (some 1 KiB a file walked,
// released when the kernel forgets them) and the page cache.
const (
	cacheMemMost  = 512 << 20
	cacheMemLeast = 32 << 20
)

// setCacheMem sets the budget from --cache-mem, or the default.
func (o *sourceOptions) setCacheMem() error {
	n := defaultCacheMem()
	if o.cacheMem != "" {
		var err error
		if n, err = parseSize(o.cacheMem); err != nil {
			return fmt.Errorf("%w: --cache-mem: %v", errUsage, err)
		}
	}
	membudget.Default.SetLimit(n)
	return nil
}

// defaultCacheMem returns the default budget (see above).
func defaultCacheMem() int64 {
	m := memTotal()
	if c := cgroupLimit(); c > 0 && (m == 0 || c < m) {
		m = c
	}
	if m <= 0 {
		return cacheMemMost
	}
	return min(cacheMemMost, max(m/8, cacheMemLeast))
}

// memTotal returns the physical memory from /proc/meminfo, 0 when it
// cannot tell (another system).
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// cgroupLimit returns the memory limit of the process's cgroup (v2), 0
// when there is none.
func cgroupLimit() int64 {
	b, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil { // "max"
		return 0
	}
	return n
}
