//go:build linux

// Command mutate is the engine of scripts/mutate.sh: it mutates base
// images at the structures ckptfs parses and runs each mutant through
// `ckptfs check`, a FUSE mount and a full read, recording panics, hangs,
// the largest RSS and silent acceptances (check clean while the mount
// serves files that differ from the unmutated image's).
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/ckptfs/ckptfs/vhdx"
)

var (
	bin     = flag.String("bin", "bin/ckptfs", "the ckptfs binary")
	dir     = flag.String("dir", "testdata/out/mutate", "folder of the base images; mutants and results go there")
	n       = flag.Int("n", 300, "number of mutants")
	seed    = flag.Uint64("seed", 1, "random seed (runs are reproducible)")
	timeout = flag.Duration("timeout", 60*time.Second, "per command; longer is a hang")
	only    = flag.String("bases", "", "comma-separated base names to mutate (default all: ntfs-gpt, fat-mbr, exfat-gpt, dirty-log, ldm, lvmspan)")
	samples = flag.String("samples", "/work/shared/samples", "folder with iotest-dirtylog-10G-4M.vhdx.bz2 for log mutations (optional)")
)

// base is one unmutated image and the regions a mutation may hit.
type base struct {
	name    string
	file    []byte // the container (.vhdx or .vhd) bytes
	ext     string
	raw     []byte // the virtual disk, for guest-level mutations (nil: none)
	regions []region
	digest  map[string]string // what the mount serves, unmutated
	check   string            // check's exit code and output, unmutated
	group   []member          // disks of one VM mutated one at a time (nil: one disk)
}

// region is a byte range of the container ("file") or of the raw disk
// ("raw", rewrapped as a VHDX after the mutation).
type region struct {
	what     string
	raw      bool
	off, len int64
	disk     int // the member of a group base it lies on
}

type result struct {
	Mutant     int    `json:"mutant"`
	Base       string `json:"base"`
	Region     string `json:"region"`
	Mutation   string `json:"mutation"`
	CheckExit  int    `json:"check_exit"`
	Detected   bool   `json:"detected"` // check's verdict differs from the base's
	CheckPanic bool   `json:"check_panic,omitempty"`
	CheckHang  bool   `json:"check_hang,omitempty"`
	MountOK    bool   `json:"mount_ok"`
	MountPanic bool   `json:"mount_panic,omitempty"`
	MountHang  bool   `json:"mount_hang,omitempty"`
	ReadErrors int    `json:"read_errors"`
	Differs    string `json:"differs,omitempty"` // first path whose content differs from the base
	Silent     bool   `json:"silent,omitempty"`  // check clean, files differ
	Missed     bool   `json:"missed,omitempty"`  // check clean, reads fail
	MaxRSSKiB  int64  `json:"max_rss_kib"`
}

func main() {
	flag.Parse()
	bases := loadBases()
	rng := rand.New(rand.NewPCG(*seed, 0x6d757461))
	resPath := filepath.Join(*dir, "results.jsonl")
	resFile, err := os.Create(resPath)
	must(err)
	defer resFile.Close()
	enc := json.NewEncoder(resFile)
	for _, b := range bases {
		p := b.write(-1, nil)
		d, _, _, err := runMount(b.name, p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "base %s does not mount: %v\n", b.name, err)
			os.Exit(1)
		}
		b.digest = d
		var r result
		b.check = runCheck(p, &r)
	}
	var all []result
	for i := 0; i < *n; i++ {
		b := bases[i%len(bases)]
		r := b.regions[rng.IntN(len(b.regions))]
		res := result{Mutant: i, Base: b.name, Region: r.what}
		file, how := mutate(b, r, rng)
		res.Mutation = how
		p := b.write(r.disk, file) // the base's names: paths compare
		out := runCheck(p, &res)
		res.Detected = out != b.check
		digest, errs, rss, err := runMount(b.name, p)
		res.MaxRSSKiB = max(res.MaxRSSKiB, rss)
		if err != nil {
			res.MountHang = strings.Contains(err.Error(), "hang")
			res.MountPanic = strings.Contains(err.Error(), "panic")
		}
		res.MountOK = err == nil
		res.ReadErrors = errs
		res.Differs = firstDiff(b.digest, digest)
		clean := !res.Detected && !res.CheckHang && !res.CheckPanic
		res.Silent = clean && res.MountOK && res.Differs != ""
		res.Missed = clean && (errs > 0 || !res.MountOK)
		if res.CheckPanic || res.CheckHang || res.MountPanic || res.MountHang || res.Silent {
			keep := filepath.Join(*dir, fmt.Sprintf("kept-%03d-%s%s", i, b.name, b.ext))
			if b.group != nil {
				keep = filepath.Join(*dir, fmt.Sprintf("kept-%03d-%s-%s", i, b.name, b.group[r.disk].name))
			}
			os.WriteFile(keep, file, 0o644)
		}
		must(enc.Encode(res))
		all = append(all, res)
		if (i+1)%25 == 0 {
			fmt.Fprintf(os.Stderr, "%d mutants run\n", i+1)
		}
	}
	summarize(all)
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(1)
	}
}

func writeTemp(name string, b []byte) string {
	p := filepath.Join(*dir, "work", name)
	must(os.MkdirAll(filepath.Dir(p), 0o755))
	must(os.WriteFile(p, b, 0o644))
	return p
}

// loadBases reads the images scripts/mutate.sh built and finds their
// structures.
func loadBases() []*base {
	var bases []*base
	if b := loadVHDX("ntfs-gpt", "ntfs-gpt.vhdx", "ntfs-gpt.raw"); b != nil {
		bases = append(bases, b)
	}
	if b := loadVHD("fat-mbr", "fat-mbr.vhd", "fat-mbr.raw"); b != nil {
		bases = append(bases, b)
	}
	if b := loadVHDX("exfat-gpt", "exfat-gpt.vhdx", "exfat-gpt.raw"); b != nil {
		bases = append(bases, b)
	}
	if b := loadDirtyLog(); b != nil {
		bases = append(bases, b)
	}
	bases = append(bases, loadGroups()...)
	if *only != "" {
		keep := bases[:0]
		for _, b := range bases {
			if slices.Contains(strings.Split(*only, ","), b.name) {
				keep = append(keep, b)
			}
		}
		bases = keep
	}
	if len(bases) == 0 {
		must(fmt.Errorf("no base images in %s (run scripts/mutate.sh)", *dir))
	}
	return bases
}

func read(name string) []byte {
	b, err := os.ReadFile(filepath.Join(*dir, name))
	if err != nil {
		return nil
	}
	return b
}

func le16(b []byte, o int64) int64 { return int64(binary.LittleEndian.Uint16(b[o:])) }
func le32(b []byte, o int64) int64 { return int64(binary.LittleEndian.Uint32(b[o:])) }
func le64(b []byte, o int64) int64 { return int64(binary.LittleEndian.Uint64(b[o:])) }

// vhdxRegions lists the container structures of a VHDX.
func vhdxRegions(f []byte) []region {
	rs := []region{
		{what: "vhdx file identifier", off: 0, len: 512},
		{what: "vhdx header 1", off: 64 << 10, len: 4096},
		{what: "vhdx header 2", off: 128 << 10, len: 4096},
		{what: "vhdx region table 1", off: 192 << 10, len: 4096},
		{what: "vhdx region table 2", off: 256 << 10, len: 4096},
	}
	rt := f[192<<10:]
	for i := int64(0); i < le32(rt, 8) && i < 8; i++ {
		e := rt[16+32*i:]
		off, n := le64(e, 16), le32(e, 24)
		switch {
		case bytes.Equal(e[:4], []byte{0x66, 0x77, 0xc2, 0x2d}): // BAT
			rs = append(rs, region{what: "vhdx BAT", off: off, len: min(n, 4096)})
		case bytes.Equal(e[:4], []byte{0x06, 0xa2, 0x7c, 0x8b}): // metadata
			rs = append(rs, region{what: "vhdx metadata table", off: off, len: 512},
				region{what: "vhdx metadata items", off: off + 64<<10, len: 4096})
		}
	}
	for _, h := range []int64{64 << 10, 128 << 10} {
		if lo, ln := le64(f, h+72), le32(f, h+68); ln > 0 && lo+ln <= int64(len(f)) {
			rs = append(rs, region{what: "vhdx log", off: lo, len: min(ln, 64<<10)})
			break
		}
	}
	return rs
}

// rawRegions lists the guest structures of a raw disk: partition table,
// then NTFS, FAT or exFAT structures of the first partition.
func rawRegions(raw []byte) []region {
	rs := []region{{what: "mbr", raw: true, off: 0, len: 512}}
	start := int64(0)
	if string(raw[512:520]) == "EFI PART" {
		rs = append(rs, region{what: "gpt header", raw: true, off: 512, len: 92},
			region{what: "gpt entries", raw: true, off: 1024, len: 512})
		start = le64(raw, 1024+32) * 512
	} else {
		start = le32(raw, 446+8) * 512
	}
	bs := raw[start:]
	switch {
	case string(bs[3:7]) == "NTFS":
		rs = append(rs, region{what: "ntfs boot sector", raw: true, off: start, len: 512})
		bps, spc := le16(bs, 11), int64(bs[13])
		mft := start + le64(bs, 0x30)*spc*bps
		rs = append(rs, region{what: "ntfs mft system records", raw: true, off: mft, len: 16 * 1024},
			region{what: "ntfs mft user records", raw: true, off: mft + 64*1024, len: 48 * 1024})
		for r := int64(0); r < 128; r++ { // runlists of non-resident attributes
			rec := mft + r*1024
			if string(raw[rec:rec+4]) != "FILE" {
				continue
			}
			for a, i := rec+le16(raw, rec+0x14), 0; a+16 < rec+1024 && i < 16; i++ {
				typ, ln := le32(raw, a), le32(raw, a+4)
				if typ == 0xffffffff || ln < 16 || a+ln > rec+1024 {
					break
				}
				if raw[a+8] != 0 && ln > 0x40 {
					mp := le16(raw, a+0x20)
					if mp < ln {
						rs = append(rs, region{what: "ntfs runlist", raw: true, off: a + mp, len: ln - mp})
					}
				}
				a += ln
			}
		}
		for o := start; o+4096 <= int64(len(raw)); o += 512 {
			if string(raw[o:o+4]) == "INDX" {
				rs = append(rs, region{what: "ntfs INDX block", raw: true, off: o, len: 4096})
			}
		}
	case string(bs[3:11]) == "EXFAT   ":
		ss := int64(1) << bs[108]
		cs := ss << bs[109]
		heap := start + le32(bs, 88)*ss
		cluster := func(c int64) int64 { return heap + (c-2)*cs }
		rs = append(rs, region{what: "exfat boot sector", raw: true, off: start, len: 512},
			region{what: "exfat boot checksum sector", raw: true, off: start + 11*ss, len: ss},
			region{what: "exfat backup boot sector", raw: true, off: start + 12*ss, len: 512},
			region{what: "exfat FAT", raw: true, off: start + le32(bs, 80)*ss, len: min(le32(bs, 84)*ss, 2048)},
			region{what: "exfat root directory", raw: true, off: cluster(le32(bs, 96)), len: max(cs, 1024)},
			// the bitmap and the up-case table come first in the heap
			region{what: "exfat bitmap and up-case table", raw: true, off: heap, len: 2048})
	case string(bs[54:59]) == "FAT16" || string(bs[54:59]) == "FAT12" || string(bs[82:87]) == "FAT32":
		rs = append(rs, region{what: "fat boot sector", raw: true, off: start, len: 512})
		bps, res, nf := le16(bs, 11), le16(bs, 14), int64(bs[16])
		fatSz := le16(bs, 22)
		rootEnts := le16(bs, 17)
		fat := start + res*bps
		root := fat + nf*fatSz*bps
		rs = append(rs, region{what: "fat table", raw: true, off: fat, len: min(fatSz*bps, 2048)},
			region{what: "fat root directory", raw: true, off: root, len: max(rootEnts*32, 512)})
		// the first subdirectory cluster follows the root directory
		rs = append(rs, region{what: "fat directory cluster", raw: true, off: root + rootEnts*32, len: 1024})
	}
	return rs
}

func loadVHDX(name, file, rawName string) *base {
	f, raw := read(file), read(rawName)
	if f == nil {
		return nil
	}
	b := &base{name: name, file: f, ext: ".vhdx", raw: raw, regions: vhdxRegions(f)}
	if raw != nil {
		b.regions = append(b.regions, rawRegions(raw)...)
	}
	return b
}

func loadVHD(name, file, rawName string) *base {
	f, raw := read(file), read(rawName)
	if f == nil {
		return nil
	}
	foot := int64(len(f)) - 512
	rs := []region{
		{what: "vhd footer", off: foot, len: 512},
		{what: "vhd footer copy", off: 0, len: 512},
	}
	if dh := le64(f, foot+16); dh > 0 && dh+1024 <= int64(len(f)) {
		dh = int64(binary.BigEndian.Uint64(f[foot+16:]))
		rs = append(rs, region{what: "vhd dynamic header", off: dh, len: 1024})
		bat := int64(binary.BigEndian.Uint64(f[dh+16:]))
		rs = append(rs, region{what: "vhd BAT", off: bat, len: 512})
	}
	b := &base{name: name, file: f, ext: ".vhd", raw: raw, regions: rs}
	if raw != nil {
		b.regions = append(b.regions, rawRegions(raw)...)
	}
	return b
}

// loadDirtyLog takes the sample VHDX with an unreplayed log, if present.
func loadDirtyLog() *base {
	p := filepath.Join(*samples, "iotest-dirtylog-10G-4M.vhdx.bz2")
	if _, err := os.Stat(p); err != nil {
		return nil
	}
	out, err := exec.Command("bzcat", p).Output()
	if err != nil {
		return nil
	}
	var rs []region
	for _, r := range vhdxRegions(out) {
		rs = append(rs, r)
		if r.what == "vhdx log" {
			rs = append(rs, r, r, r) // weigh the log: this base is here for it
		}
	}
	return &base{name: "dirty-log", file: out, ext: ".vhdx", regions: rs}
}

// mutate applies one random mutation to a copy of the base.
func mutate(b *base, r region, rng *rand.Rand) ([]byte, string) {
	src := b.file
	if r.raw {
		src = b.raw
	}
	if b.group != nil {
		src = b.group[r.disk].file
		if r.raw {
			src = b.group[r.disk].raw
		}
	}
	m := append([]byte(nil), src...)
	off := r.off + rng.Int64N(max(r.len, 1))
	var how string
	switch k := rng.IntN(5); k {
	case 0, 1:
		nb := 1 + rng.IntN(4)
		for i := 0; i < nb; i++ {
			o := min(off+int64(i)*int64(1+rng.IntN(16)), int64(len(m))-1)
			m[o] ^= byte(1 << rng.IntN(8))
		}
		how = fmt.Sprintf("%d bit flips from 0x%x", nb, off)
	case 2:
		v := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
		copy(m[off:], v[:1+rng.IntN(8)])
		how = fmt.Sprintf("huge value at 0x%x", off)
	case 3:
		copy(m[off:], make([]byte, 2+rng.IntN(8)))
		how = fmt.Sprintf("zeros at 0x%x", off)
	default:
		o := off &^ 511
		for i := o; i < min(o+512, int64(len(m))); i++ {
			m[i] = byte(rng.Uint32())
		}
		how = fmt.Sprintf("random sector at 0x%x", o)
	}
	if r.raw {
		return wrap(m), how + " (raw disk, rewrapped as VHDX)"
	}
	return m, how
}

// wrap writes a raw disk as a dynamic VHDX with the package's writer.
func wrap(raw []byte) []byte {
	p := filepath.Join(*dir, "work", "wrap.vhdx")
	os.Remove(p)
	size := (int64(len(raw)) + 1<<20 - 1) &^ (1<<20 - 1)
	w, err := vhdx.Create(p, vhdx.CreateOptions{VirtualSize: size, BlockSize: 1 << 20})
	must(err)
	_, err = w.WriteAt(raw, 0)
	must(err)
	must(w.Close())
	b, err := os.ReadFile(p)
	must(err)
	return b
}

// runCheck runs ckptfs check with a timeout. Its peak RSS comes from
// GNU time when installed: the rusage of a child this process starts
// directly would include this process's own size (Linux carries the old
// address space's high-water mark across exec).
func runCheck(p string, res *result) string {
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	rssFile := filepath.Join(*dir, "work", "rss")
	os.Remove(rssFile)
	args := []string{*bin, "check", p}
	if _, err := os.Stat("/usr/bin/time"); err == nil {
		args = append([]string{"/usr/bin/time", "-f", "%M", "-o", rssFile}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Run()
	if ctx.Err() != nil {
		res.CheckHang = true
	}
	if cmd.ProcessState != nil {
		res.CheckExit = cmd.ProcessState.ExitCode()
	}
	if b, err := os.ReadFile(rssFile); err == nil {
		var kib int64
		fmt.Sscan(strings.TrimSpace(lastLine(string(b))), &kib)
		res.MaxRSSKiB = max(res.MaxRSSKiB, kib)
		if res.CheckExit > 128 && strings.Contains(string(b), "Command exited with non-zero status") {
			fmt.Sscanf(string(b), "Command exited with non-zero status %d", &res.CheckExit)
		}
	}
	res.CheckPanic = isPanic(stderr.String())
	return fmt.Sprintf("exit %d\n%s", res.CheckExit, stdout.String())
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// vmHWM is the peak RSS of a running process, in KiB.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kib int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kib)
			return kib
		}
	}
	return 0
}

func isPanic(s string) bool {
	return strings.Contains(s, "panic:") || strings.Contains(s, "goroutine ") || strings.Contains(s, "recovered panic")
}

// runMount mounts p, reads every file of the tree, and unmounts. It
// returns what the guest volumes serve (path -> size and hash; raw disks
// and checkpoint.json are read but left out), the number of read errors
// and the mount process's largest RSS.
func runMount(name, p string) (map[string]string, int, int64, error) {
	// outside the source's folder, which the mount refuses
	mnt := filepath.Join(os.TempDir(), fmt.Sprintf("ckptfs-mutate-%d", os.Getpid()))
	exec.Command("fusermount3", "-u", "-z", mnt).Run()
	must(os.MkdirAll(mnt, 0o755))
	cmd := exec.Command(*bin, "mount", p, mnt)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, 0, 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var peak int64 // VmHWM: the rusage of a direct child would include ours
	rss := func() int64 { return max(peak, vmHWM(cmd.Process.Pid)) }
	if !waitMounted(mnt, done) {
		select {
		case <-done:
		case <-time.After(*timeout):
			cmd.Process.Kill()
			<-done
			return nil, 0, rss(), fmt.Errorf("hang: mount never came up")
		}
		if isPanic(stderr.String()) {
			return nil, 0, rss(), fmt.Errorf("panic while mounting")
		}
		return nil, 0, rss(), fmt.Errorf("mount failed: %s", strings.TrimSpace(stderr.String()))
	}
	type walked struct {
		d    map[string]string
		errs int
	}
	wc := make(chan walked, 1)
	go func() {
		d, errs := readTree(mnt)
		wc <- walked{d, errs}
	}()
	var w walked
	var hang error
	select {
	case w = <-wc:
	case <-time.After(*timeout):
		hang = fmt.Errorf("hang: reading the mounted tree")
	}
	peak = vmHWM(cmd.Process.Pid)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		hang = fmt.Errorf("hang: unmount")
		exec.Command("fusermount3", "-u", "-z", mnt).Run()
		cmd.Process.Kill()
		<-done
	}
	if hang != nil {
		exec.Command("fusermount3", "-u", "-z", mnt).Run()
		return nil, 0, rss(), hang
	}
	if isPanic(stderr.String()) {
		return w.d, w.errs, rss(), fmt.Errorf("panic in the mount: %s", firstLine(stderr.String()))
	}
	return w.d, w.errs, rss(), nil
}

func firstLine(s string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "panic") {
			return sc.Text()
		}
	}
	return ""
}

func waitMounted(mnt string, done chan error) bool {
	deadline := time.Now().Add(*timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil && bytes.Contains(b, []byte(" "+mnt+" ")) {
			return true
		}
		select {
		case err := <-done:
			done <- err
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return false
}

// readTree walks the mount reading every file, link and xattr list.
func readTree(mnt string) (map[string]string, int) {
	d := map[string]string{}
	errs := 0
	filepath.Walk(mnt, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			errs++
			return nil
		}
		rel, _ := filepath.Rel(mnt, p)
		// raw disks and volumes change with any mutation under them: read,
		// not compared
		guestFile := strings.Contains(rel, "/") && !strings.Contains(rel, "/disks/") && !strings.Contains(rel, "/volumes/") &&
			!strings.HasSuffix(rel, "checkpoint.json") &&
			!strings.HasPrefix(rel, "by-time") && rel != "latest"
		buf := make([]byte, 1024)
		if _, err := syscall.Listxattr(p, buf); err != nil && err != syscall.ERANGE && err != syscall.ENOTSUP {
			errs++
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				errs++
			}
			if guestFile {
				d[rel] = "-> " + t
			}
		case fi.Mode().IsRegular():
			h, err := hashFile(p, fi.Size())
			if err != nil {
				errs++
				h = "error"
			}
			if guestFile {
				d[rel] = fmt.Sprintf("%d %s", fi.Size(), h)
			}
		case fi.IsDir() && guestFile:
			d[rel] = "dir"
		}
		return nil
	})
	return d, errs
}

// hashFile hashes a file; of a large raw disk only the first and last
// MiB are read, the rest is too slow for hundreds of mutants.
func hashFile(p string, size int64) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if size > 256<<20 {
		for _, off := range []int64{0, size - 1<<20} {
			if _, err := io.Copy(h, io.NewSectionReader(f, off, 1<<20)); err != nil {
				return "", err
			}
		}
	} else if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", h.Sum(nil)[:8]), nil
}

// firstDiff names the first path whose entry differs between a and b.
func firstDiff(a, b map[string]string) string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if a[k] != b[k] {
			return k
		}
	}
	return ""
}

func summarize(all []result) {
	type count struct{ runs, detected, silent, missed, panics, hangs int }
	by := map[string]*count{}
	var tot count
	var maxRSS int64
	for _, r := range all {
		c := by[r.Region]
		if c == nil {
			c = &count{}
			by[r.Region] = c
		}
		for _, c := range []*count{c, &tot} {
			c.runs++
			if r.Detected {
				c.detected++
			}
			if r.Silent {
				c.silent++
			}
			if r.Missed {
				c.missed++
			}
			if r.CheckPanic || r.MountPanic {
				c.panics++
			}
			if r.CheckHang || r.MountHang {
				c.hangs++
			}
		}
		maxRSS = max(maxRSS, r.MaxRSSKiB)
	}
	var regions []string
	for k := range by {
		regions = append(regions, k)
	}
	sort.Strings(regions)
	fmt.Printf("%-28s %5s %9s %7s %7s %7s %6s\n", "region", "runs", "detected", "silent", "missed", "panics", "hangs")
	for _, k := range regions {
		c := by[k]
		fmt.Printf("%-28s %5d %9d %7d %7d %7d %6d\n", k, c.runs, c.detected, c.silent, c.missed, c.panics, c.hangs)
	}
	fmt.Printf("%-28s %5d %9d %7d %7d %7d %6d\n", "total", tot.runs, tot.detected, tot.silent, tot.missed, tot.panics, tot.hangs)
	fmt.Printf("max RSS of any ckptfs process: %d MiB\n", maxRSS>>10)
	fmt.Println("detected: check's exit or report differs from the unmutated image's; silent: check clean but the mount serves different files;")
	fmt.Println("missed: check clean but the mount failed or reads failed. Details: results.jsonl")
}
