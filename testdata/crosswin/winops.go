// winops makes a random Windows volume for the cross-check of
// internal/crosswin: from a seed it picks the format options
// (`winops plan FS SEED` prints them as shell assignments for gen.sh) and a
// history of operations (`winops run FS SEED DIR|IMAGE` carries them out on
// an ntfs-3g or exfat-fuse mount at DIR, or through mtools on a FAT IMAGE).
// Every choice comes from the seed, so a seed names one volume; what the
// writing drivers choose (allocation, serials) is theirs.
//
// It lives in testdata/crosswin/ so that the fixtures' stamp
// (testutil.BuildFixture hashes this folder) changes with it.
package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: winops plan|run ntfs|fat|exfat SEED [DIR|IMAGE]")
		os.Exit(2)
	}
	kind := os.Args[2]
	seed, err := strconv.ParseUint(os.Args[3], 10, 64)
	if err != nil {
		fatal(err)
	}
	switch os.Args[1] {
	case "plan":
		plan(kind, seed)
	case "run":
		if len(os.Args) != 5 {
			fatal(fmt.Errorf("run needs DIR or IMAGE"))
		}
		run(kind, seed, os.Args[4])
	default:
		fatal(fmt.Errorf("unknown command %q", os.Args[1]))
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "winops:", err)
	os.Exit(1)
}

// rng gives the random source of one seed; plan and run use different
// streams so that changing the operations does not change the format.
func rng(seed, stream uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, stream)) }

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// plan prints the format options of seed for gen.sh: size (MiB), mkfs
// arguments, and the cluster size the operations are shaped by.
func plan(kind string, seed uint64) {
	r := rng(seed, 1)
	var size, cluster int
	var args []string
	switch kind {
	case "ntfs":
		sector := pick(r, 512, 512, 4096)
		cluster = pick(r, 512, 1024, 2048, 4096, 4096, 8192, 16384, 32768, 65536)
		cluster = max(cluster, sector)
		size = pick(r, 64, 96, 128, 160)
		if cluster >= 16384 {
			size = max(size, 96)
		}
		args = []string{"-s", strconv.Itoa(sector), "-c", strconv.Itoa(cluster)}
	case "exfat":
		cluster = pick(r, 512, 1024, 4096, 4096, 16384, 32768, 131072, 262144)
		size = pick(r, 32, 64, 128)
		if cluster >= 131072 {
			size = 256
		}
		args = []string{"-c", strconv.Itoa(cluster)}
	case "fat":
		size, cluster, args = planFAT(r)
	default:
		fatal(fmt.Errorf("unknown filesystem %q", kind))
	}
	fmt.Printf("size=%d\ncluster=%d\nmkfs_args=(%s)\n", size, cluster, strings.Join(args, " "))
}

// planFAT picks a FAT type and a geometry mkfs.fat accepts for it: the
// cluster count must fall in the type's range (FAT12 < 4085 <= FAT16 <
// 65525 <= FAT32).
func planFAT(r *rand.Rand) (size, cluster int, args []string) {
	sector := pick(r, 512, 512, 512, 1024, 4096)
	fats := pick(r, 1, 2, 2)
	reserved := pick(r, 0, 1, 4, 8, 32)
	bits := pick(r, 12, 16, 32)
	var clusters int
	switch bits {
	case 12:
		clusters = 500 + r.IntN(3400)
	case 16:
		clusters = 5000 + r.IntN(50000)
	case 32:
		clusters = 66000 + r.IntN(60000)
	}
	// sectors per cluster: a power of two with cluster size <= 64 KiB, and
	// a volume of at most 512 MiB.
	var spc int
	for {
		spc = 1 << r.IntN(8)
		cluster = spc * sector
		if cluster <= 65536 && clusters*cluster <= 512<<20 {
			break
		}
	}
	if clusters*cluster < 4<<20 && bits != 12 {
		clusters = (4 << 20) / cluster
	}
	size = (clusters*cluster)>>20 + 2
	args = []string{"-F", strconv.Itoa(bits), "-S", strconv.Itoa(sector), "-s", strconv.Itoa(spc), "-f", strconv.Itoa(fats)}
	if reserved > 0 {
		if bits == 32 && reserved < 8 {
			reserved = 8 // mkfs.fat puts the FSInfo and backup boot sectors there
		}
		args = append(args, "-R", strconv.Itoa(reserved))
	}
	return size, cluster, args
}

// target is where the operations land.
type target interface {
	mkdir(p string) error
	writeAt(p string, off int64, b []byte) error // creates p when missing
	truncate(p string, n int64) error
	remove(p string) error // a file, or a directory with all it holds
	rename(from, to string) error
	chtimes(p string, atime, mtime time.Time) error
	createMany(dir string, names []string) error // empty files
}

// ntfsTarget adds what ntfs-3g can write beyond POSIX.
type ntfsTarget interface {
	target
	setxattr(p, name string, val []byte) error
	removexattr(p, name string) error
	link(old, new string) error
	symlink(target, p string) error
}

// state is the model of the tree the operations build, used to choose
// valid operations.
type state struct {
	r       *rand.Rand
	kind    string
	cluster int64
	t       target
	files   map[string]int64 // regular files and their sizes
	dirs    []string         // "" is the root
	links   map[string]bool  // symlinks and junctions (never written through)
	names   map[string]int   // name counter
	log     *os.File
}

func run(kind string, seed uint64, where string) {
	cluster, err := strconv.ParseInt(os.Getenv("WINOPS_CLUSTER"), 10, 64)
	if err != nil || cluster <= 0 {
		fatal(fmt.Errorf("WINOPS_CLUSTER must hold the cluster size"))
	}
	s := &state{r: rng(seed, 2), kind: kind, cluster: cluster, files: map[string]int64{},
		dirs: []string{""}, links: map[string]bool{}, names: map[string]int{}, log: os.Stdout}
	switch kind {
	case "ntfs", "exfat":
		s.t = dirTarget(where)
	case "fat":
		s.t = newMtools(where)
	}
	n := 120 + s.r.IntN(200)
	for i := 0; i < n; i++ {
		if err := s.step(); err != nil {
			if full(err) { // the volume is full: it is made
				s.logf("full after %d steps", i)
				break
			}
			fatal(fmt.Errorf("step %d: %w", i, err))
		}
	}
	if m, ok := s.t.(*mtools); ok {
		if err := m.close(); err != nil {
			fatal(err)
		}
	}
}

// step carries out one random operation.
func (s *state) step() error {
	type op struct {
		weight int
		f      func() error
		ntfs   bool // ntfs only
	}
	ops := []op{
		{20, s.create, false},
		{6, s.mkdir, false},
		{6, s.appendPair, false},
		{6, s.overwrite, false},
		{6, s.truncate, false},
		{6, s.remove, false},
		{5, s.rename, false},
		{6, s.setTimes, false},
		{2, s.bigDir, false},
		{2, s.holes, false},
		{4, s.sparse, true},
		{6, s.stream, true},
		{3, s.hardlinks, true},
		{4, s.symlink, true},
		{2, s.junction, true},
		{3, s.attrib, true},
		{2, s.compressedDir, true},
		{2, s.caseTwins, true},
	}
	total := 0
	for _, o := range ops {
		if !o.ntfs || s.kind == "ntfs" {
			total += o.weight
		}
	}
	x := s.r.IntN(total)
	for _, o := range ops {
		if o.ntfs && s.kind != "ntfs" {
			continue
		}
		if x < o.weight {
			return o.f()
		}
		x -= o.weight
	}
	return nil
}

// full reports whether err says the volume has no more room.
func full(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), "Disk full")
}

func (s *state) logf(format string, a ...any) { fmt.Fprintf(s.log, format+"\n", a...) }

// size draws a file size: empty, resident-sized, around cluster
// boundaries, medium or large.
func (s *state) size() int64 {
	c := s.cluster
	switch s.r.IntN(10) {
	case 0:
		return 0
	case 1, 2:
		return 1 + s.r.Int64N(900)
	case 3, 4:
		return max(0, (1+s.r.Int64N(4))*c+s.r.Int64N(3)-1)
	case 5, 6, 7:
		return s.r.Int64N(300 << 10)
	case 8:
		return 300<<10 + s.r.Int64N(2<<20)
	default:
		return 2<<20 + s.r.Int64N(4<<20)
	}
}

// data makes n bytes: random, text (compresses well) or zeros with text
// (compresses into sparse LZNT1 units).
func (s *state) data(n int64) []byte {
	b := make([]byte, n)
	switch s.r.IntN(3) {
	case 0:
		for i := range b {
			b[i] = byte(s.r.Uint32())
		}
	case 1:
		line := fmt.Sprintf("line of %d: the quick brown fox jumps over the lazy dog\n", s.r.IntN(1000))
		for i := range b {
			b[i] = line[i%len(line)]
		}
	default:
		for i := int64(0); i < n; i += 4096 {
			if s.r.IntN(2) == 0 {
				copy(b[i:], "some text among zeros")
			}
		}
	}
	return b
}

// name makes a new name: short, long, Unicode (non-BMP on NTFS and exFAT)
// or with punctuation; unique within the run.
func (s *state) name() string {
	s.names["n"]++
	id := s.names["n"]
	switch s.r.IntN(8) {
	case 0:
		return fmt.Sprintf("F%d.TXT", id) // a valid 8.3 name
	case 1:
		return fmt.Sprintf("lower%d.txt", id)
	case 2:
		// a long name: up to 255 bytes (Linux's limit; the volume's is 255
		// UTF-16 units)
		base := fmt.Sprintf("long-%d-", id)
		ch := pick(s.r, "x", "é", "日")
		most := (255 - len(base)) / len(ch)
		return base + strings.Repeat(ch, most/2+s.r.IntN(most/2+1))
	case 3:
		return fmt.Sprintf("Grüße %d – Ærø.txt", id)
	case 4:
		if s.kind == "fat" {
			return fmt.Sprintf("日本語 %d.txt", id)
		}
		return fmt.Sprintf("emoji %d 😀🎉.txt", id) // non-BMP: surrogate pairs
	case 5:
		if s.kind == "fat" { // mtools takes [] in a path for a wildcard
			return fmt.Sprintf("semi;colon,comma+plus=eq{c}'q'#%d&~", id)
		}
		return fmt.Sprintf("semi;colon,comma+plus=eq[b]{c}'q'#%d&~", id)
	case 6:
		return fmt.Sprintf("MixedCase%d.Dat", id)
	default:
		return fmt.Sprintf("file %d with spaces.bin", id)
	}
}

func (s *state) dir() string { return s.dirs[s.r.IntN(len(s.dirs))] }

func (s *state) fileNames() []string {
	var ps []string
	for p := range s.files {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// file picks an existing file ("" when there is none).
func (s *state) file() string {
	ps := s.fileNames()
	if len(ps) == 0 {
		return ""
	}
	return ps[s.r.IntN(len(ps))]
}
