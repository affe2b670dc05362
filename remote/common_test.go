package remote

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// testOptions: short timeouts so that fault tests end fast.
func testOptions() Options {
	return Options{Timeout: 2 * time.Second, Retries: 3, MemCache: 32 << 20}
}

func openRemote(t *testing.T, src string) *catalog.Catalog {
	t.Helper()
	name, s, err := Resolve(src)
	if err != nil {
		t.Fatal(err)
	}
	before := Counters()
	c, err := catalog.Open(name, catalog.Options{Source: s})
	if err != nil {
		t.Fatalf("open %s: %v", Redact(src), err)
	}
	t.Cleanup(func() { c.Close() })
	after := Counters()
	t.Logf("opening %s: %d requests, %d bytes", Redact(src), after.Requests-before.Requests, after.Bytes-before.Bytes)
	return c
}

// checkOpenCost fails when opening the chains of c took more than
// perLayer requests and 2 MiB per layer file (two reads: its head, which
// describes it where no listing did, then its metadata and BAT,
// vhdx.OpenRanges) and extra requests (listings, VM configurations). before
// is Counters() before the open; the test must have sent nothing else
// since.
func checkOpenCost(t *testing.T, c *catalog.Catalog, before Stats, perLayer, extra int64) {
	t.Helper()
	seen := map[string]bool{}
	for _, d := range checkpoints(c) {
		for _, l := range d.Chain.Layers {
			seen[l.Name] = true
		}
	}
	after := Counters()
	layers := int64(len(seen))
	reqs, bytes := after.Requests-before.Requests, after.Bytes-before.Bytes
	t.Logf("opening %d layers: %d requests, %d bytes", layers, reqs, bytes)
	if reqs > perLayer*layers+extra || bytes > layers*2<<20 {
		t.Errorf("opening %d layers took %d requests and %d bytes, want at most %d and %d", layers, reqs, bytes, perLayer*layers+extra, layers*2<<20)
	}
}

// checkpoints maps "VM/checkpoint/disk" to the disk's chain.
func checkpoints(c *catalog.Catalog) map[string]*catalog.Disk {
	m := map[string]*catalog.Disk{}
	for _, vm := range c.VMs {
		for _, cp := range vm.Checkpoints {
			for _, d := range cp.Disks {
				m[fmt.Sprintf("%s/%s/%s", vm.Name, cp.Name, d.Name)] = d
			}
		}
	}
	return m
}

// sameCheckpoints compares every checkpoint's raw image in a remote
// catalog with the local one's.
func sameCheckpoints(t *testing.T, local, rem *catalog.Catalog, want int, only string) {
	t.Helper()
	lm, rm := checkpoints(local), checkpoints(rem)
	var names []string
	for k := range lm {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(lm) != want || len(rm) != want {
		t.Fatalf("%d local and %d remote checkpoint disks, want %d: %v", len(lm), len(rm), want, names)
	}
	for _, k := range names {
		if only != "" && !strings.Contains(k, only) {
			continue
		}
		ld, rd := lm[k], rm[k]
		if rd == nil || rd.Chain == nil || ld.Chain == nil {
			t.Fatalf("%s: missing remotely (%v)", k, rd)
		}
		if len(rd.Chain.Layers) != len(ld.Chain.Layers) || rd.Chain.Size() != ld.Chain.Size() {
			t.Fatalf("%s: %d layers %d bytes remote, %d layers %d bytes local", k,
				len(rd.Chain.Layers), rd.Chain.Size(), len(ld.Chain.Layers), ld.Chain.Size())
		}
		lb := make([]byte, ld.Chain.Size())
		rb := make([]byte, rd.Chain.Size())
		if _, err := ld.Chain.ReadAt(lb, 0); err != nil {
			t.Fatal(err)
		}
		before := Counters()
		start := time.Now()
		if _, err := rd.Chain.ReadAt(rb, 0); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		after := Counters()
		if !bytes.Equal(lb, rb) {
			t.Errorf("%s: raw image differs", k)
		}
		t.Logf("%s: %d layers, %d MiB in %v, %d requests, %d cache hits", k, len(rd.Chain.Layers),
			rd.Chain.Size()>>20, time.Since(start).Round(time.Millisecond), after.Requests-before.Requests, after.Hits-before.Hits)
	}
}

func localCatalog(t *testing.T, dir string) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Open(dir, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// topDisk is the name of the running state's disk file in the VM folder.
func topDisk(t *testing.T, c *catalog.Catalog) string {
	t.Helper()
	for _, vm := range c.VMs {
		for _, cp := range vm.Checkpoints {
			if cp.Name == "Now" {
				return filepath.Base(cp.Disks[0].File)
			}
		}
	}
	t.Fatal("no Now checkpoint")
	return ""
}

var _ = testutil.InCI

// logLayers logs the requests each layer's object sent so far.
func logLayers(t *testing.T, c *catalog.Catalog) {
	seen := map[string]bool{}
	for _, d := range checkpoints(c) {
		for _, l := range d.Chain.Layers {
			if seen[l.Name] {
				continue
			}
			seen[l.Name] = true
			t.Logf("layer %s: %d requests", l.Name, RequestsFor(l.Name))
		}
	}
}
func itoa(i int) string { return strconv.Itoa(i) }
