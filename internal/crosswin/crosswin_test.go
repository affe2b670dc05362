//go:build linux

package crosswin

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// fixedSeeds are the volumes `go test` (and so make test) checks: chosen
// among the first seeds for coverage of the option space (see the .ops
// file beside each image) and a short build.
var fixedSeeds = map[string][]uint64{
	"ntfs":  {1},
	"exfat": {1},
	"fat":   {2, 3}, // 2: FAT16 with one FAT (go-diskfs assumed two)
}

// seeds returns the seeds to check for kind: CKPTFS_CROSSWIN_SEEDS=N asks
// for seeds 1..N, =A-B for A..B; otherwise fixedSeeds.
func seeds(t *testing.T, kind string) (list []uint64, many bool) {
	v := os.Getenv("CKPTFS_CROSSWIN_SEEDS")
	if v == "" {
		return fixedSeeds[kind], false
	}
	a, b, ok := strings.Cut(v, "-")
	if !ok {
		a, b = "1", v
	}
	first, err := strconv.ParseUint(a, 10, 64)
	last, err2 := strconv.ParseUint(b, 10, 64)
	if err != nil || err2 != nil || last < first {
		t.Fatalf("CKPTFS_CROSSWIN_SEEDS=%q: want N or A-B", v)
	}
	for s := first; s <= last; s++ {
		list = append(list, s)
	}
	return list, true
}

// tally counts, per filesystem, what was compared; TestMain prints it.
var tally = struct {
	sync.Mutex
	m map[string]*count
}{m: map[string]*count{}}

type count struct{ volumes, failed, files, disagreements int }

func TestMain(m *testing.M) {
	code := m.Run()
	tally.Lock()
	kinds := make([]string, 0, len(tally.m))
	for k := range tally.m {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		c := tally.m[k]
		fmt.Printf("crosswin: %-11s %4d volumes (%d failed to build or open), %6d files compared, %d disagreements\n",
			k, c.volumes, c.failed, c.files, c.disagreements)
	}
	tally.Unlock()
	os.Exit(code)
}

// checker gathers the comparisons of one volume.
type checker struct {
	t     *testing.T
	kind  string
	files int // entries compared with at least one oracle
	bad   int
}

// maxShown is how many disagreements of one volume are shown
// (CKPTFS_CROSSWIN_SHOW changes it).
var maxShown = func() int {
	if n, err := strconv.Atoi(os.Getenv("CKPTFS_CROSSWIN_SHOW")); err == nil {
		return n
	}
	return 200
}()

// errorf reports one disagreement.
func (c *checker) errorf(format string, a ...any) {
	c.t.Helper()
	c.bad++
	if c.bad == maxShown {
		c.t.Errorf("more than %d disagreements: the rest are counted, not shown", maxShown)
	}
	if c.bad < maxShown {
		c.t.Errorf(format, a...)
	}
}

// needs checks what building and reading a kind of volume takes.
func needs(t *testing.T, fuse bool, tools ...string) {
	t.Helper()
	if os.Getuid() != 0 {
		testutil.Unavailable(t, "the volumes are written through FUSE mounts of loop devices: root only")
	}
	for _, tool := range tools {
		testutil.NeedTool(t, tool)
	}
	if fuse {
		testutil.NeedFUSE(t)
	}
	if _, err := os.Stat("/usr/local/go/bin/go"); err != nil {
		testutil.NeedTool(t, "go") // gen.sh builds winops.go
	}
}

// eachVolume builds the volume of every seed of kind and hands it to
// check; with CKPTFS_CROSSWIN_SEEDS a volume that compared clean is deleted
// after, so a long run does not fill the disk.
func eachVolume(t *testing.T, kind string, check func(c *checker, img string)) {
	list, many := seeds(t, kind)
	for _, seed := range list {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			c := &checker{t: t, kind: kind}
			defer c.record()
			name := fmt.Sprintf("%s-%d.img", kind, seed)
			img, err := testutil.BuildFixture("crosswin", name, kind, strconv.FormatUint(seed, 10))
			if err != nil {
				c.bad++
				t.Fatal(err)
			}
			ops := strings.TrimSuffix(img, ".img") + ".ops"
			defer func() {
				if t.Failed() {
					t.Logf("made by: %s", ops)
				} else if many {
					os.Remove(img)
					os.Remove(ops)
					os.Remove(filepath.Join(filepath.Dir(img), "."+name+".gen"))
				}
			}()
			if head, err := os.ReadFile(ops); err == nil {
				lines := strings.SplitN(string(head), "\n", 3)
				t.Logf("%s", strings.Join(lines[:min(2, len(lines))], "; "))
			}
			check(c, img)
		})
	}
}

// record adds the volume's figures to the tally.
func (c *checker) record() {
	tally.Lock()
	defer tally.Unlock()
	k := tally.m[c.kind]
	if k == nil {
		k = &count{}
		tally.m[c.kind] = k
	}
	k.volumes++
	k.files += c.files
	k.disagreements += c.bad
	if c.files == 0 {
		k.failed++
	}
}
