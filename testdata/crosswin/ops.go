package main

// The operations: each changes the volume through the target and the
// model of it in state.

import (
	"encoding/binary"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (s *state) create() error { return s.createAt(path.Join(s.dir(), s.name())) }

// createAt makes a file of a random size and content at p.
func (s *state) createAt(p string) error {
	n := s.size()
	s.logf("create %q %d", p, n)
	if err := s.t.writeAt(p, 0, s.data(n)); err != nil {
		return err
	}
	s.files[p] = n
	return nil
}

func (s *state) mkdir() error {
	parent := s.dir()
	depth := 1
	if s.r.IntN(4) == 0 {
		depth = 2 + s.r.IntN(8)
	}
	for i := 0; i < depth; i++ {
		p := path.Join(parent, s.name())
		if len(p) > 3000 {
			break
		}
		s.logf("mkdir %q", p)
		if err := s.t.mkdir(p); err != nil {
			return err
		}
		s.dirs = append(s.dirs, p)
		parent = p
	}
	return nil
}

// appendPair appends chunks to two files in turn.
func (s *state) appendPair() error {
	a, b := s.file(), s.file()
	if a == "" {
		return s.create()
	}
	chunk := s.cluster * (1 + s.r.Int64N(3))
	rounds := 2 + s.r.IntN(12)
	s.logf("append-pair %q %q %d x %d", a, b, rounds, chunk)
	for i := 0; i < rounds; i++ {
		for _, p := range []string{a, b} {
			if err := s.t.writeAt(p, s.files[p], s.data(chunk)); err != nil {
				return err
			}
			s.files[p] += chunk
		}
		if a == b {
			break
		}
	}
	return nil
}

func (s *state) overwrite() error {
	p := s.file()
	if p == "" {
		return s.create()
	}
	off := s.r.Int64N(s.files[p] + 1)
	n := 1 + s.r.Int64N(100000)
	s.logf("overwrite %q at %d, %d bytes", p, off, n)
	if err := s.t.writeAt(p, off, s.data(n)); err != nil {
		return err
	}
	s.files[p] = max(s.files[p], off+n)
	return nil
}

func (s *state) truncate() error {
	p := s.file()
	if p == "" {
		return s.create()
	}
	n := s.r.Int64N(s.files[p] + 1)
	if s.r.IntN(3) == 0 {
		n = s.files[p] + s.r.Int64N(3*s.cluster+5000)
	}
	s.logf("truncate %q %d", p, n)
	if err := s.t.truncate(p, n); err != nil {
		return err
	}
	s.files[p] = n
	return nil
}

// sparse writes past the end, leaving a hole (ntfs-3g makes the file
// sparse); some files get many alternating holes and runs.
func (s *state) sparse() error {
	p := path.Join(s.dir(), s.name())
	runs := 1 + s.r.IntN(3)
	if s.r.IntN(3) == 0 {
		runs = 50 + s.r.IntN(400) // a runlist that may leave the record
	}
	step := s.cluster * (1 + s.r.Int64N(16))
	s.logf("sparse %q %d runs every %d", p, runs, step)
	var end int64
	for i := 0; i < runs; i++ {
		off := int64(i)*step*2 + step
		n := 1 + s.r.Int64N(step)
		if err := s.t.writeAt(p, off, s.data(n)); err != nil {
			return err
		}
		end = off + n
	}
	s.files[p] = end
	if s.r.IntN(2) == 0 { // a hole at the end too
		end += s.r.Int64N(1 << 20)
		if err := s.t.truncate(p, end); err != nil {
			return err
		}
		s.files[p] = end
	}
	return nil
}

func (s *state) remove() error {
	if s.r.IntN(4) == 0 && len(s.dirs) > 1 {
		d := s.dirs[1+s.r.IntN(len(s.dirs)-1)]
		s.logf("rmtree %q", d)
		if err := s.t.remove(d); err != nil {
			return err
		}
		s.forget(d)
		return nil
	}
	p := s.file()
	if p == "" {
		return nil
	}
	s.logf("rm %q", p)
	if err := s.t.remove(p); err != nil {
		return err
	}
	delete(s.files, p)
	return nil
}

// forget drops d and everything under it from the model.
func (s *state) forget(d string) {
	under := func(p string) bool { return p == d || strings.HasPrefix(p, d+"/") }
	for p := range s.files {
		if under(p) {
			delete(s.files, p)
		}
	}
	for p := range s.links {
		if under(p) {
			delete(s.links, p)
		}
	}
	s.dirs = slices.DeleteFunc(s.dirs, under)
}

func (s *state) rename() error {
	if s.r.IntN(3) == 0 && len(s.dirs) > 1 {
		d := s.dirs[1+s.r.IntN(len(s.dirs)-1)]
		to := path.Join(path.Dir(d), s.name())
		if path.Dir(d) == "." {
			to = s.name()
		}
		s.logf("rename-dir %q %q", d, to)
		if err := s.t.rename(d, to); err != nil {
			return err
		}
		s.moved(d, to)
		return nil
	}
	p := s.file()
	if p == "" {
		return nil
	}
	to := path.Join(s.dir(), s.name())
	s.logf("rename %q %q", p, to)
	if err := s.t.rename(p, to); err != nil {
		return err
	}
	s.files[to] = s.files[p]
	delete(s.files, p)
	return nil
}

// moved renames d to to in the model.
func (s *state) moved(d, to string) {
	re := func(p string) string {
		if p == d {
			return to
		}
		if strings.HasPrefix(p, d+"/") {
			return to + p[len(d):]
		}
		return p
	}
	files := map[string]int64{}
	for p, n := range s.files {
		files[re(p)] = n
	}
	s.files = files
	links := map[string]bool{}
	for p := range s.links {
		links[re(p)] = true
	}
	s.links = links
	for i, p := range s.dirs {
		s.dirs[i] = re(p)
	}
}

// when draws a time the filesystem can hold, to the nanosecond.
func (s *state) when() time.Time {
	lo, hi := time.Date(1981, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2106, 12, 31, 0, 0, 0, 0, time.UTC)
	if s.kind == "ntfs" {
		lo, hi = time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return lo.Add(time.Duration(s.r.Int64N(int64(hi.Sub(lo)))))
}

func (s *state) setTimes() error {
	var p string
	if s.r.IntN(4) == 0 {
		p = s.dir()
	} else if p = s.file(); p == "" {
		return nil
	}
	at, mt := s.when(), s.when()
	s.logf("times %q atime %s mtime %s", p, at.Format(time.RFC3339Nano), mt.Format(time.RFC3339Nano))
	return s.t.chtimes(p, at, mt)
}

// bigDir makes a directory of hundreds to thousands of entries and then
// deletes most of them: the index B+ tree (NTFS), directory clusters
// (FAT, exFAT) grow and then hold mostly deleted entries.
func (s *state) bigDir() error {
	d := path.Join(s.dir(), s.name())
	if err := s.t.mkdir(d); err != nil {
		return err
	}
	s.dirs = append(s.dirs, d)
	n := 300 + s.r.IntN(2500)
	if s.kind == "fat" {
		n = min(n, 200+n/10) // mtools takes O(n) per new long name
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("entry-%05d-%s.dat", i, strings.Repeat("z", s.r.IntN(60)))
	}
	s.logf("bigdir %q %d entries", d, n)
	if err := s.t.createMany(d, names); err != nil {
		return err
	}
	for _, nm := range names {
		s.files[path.Join(d, nm)] = 0
	}
	keep := s.r.Float64()
	gone := 0
	for _, nm := range names {
		if s.r.Float64() > keep {
			if err := s.t.remove(path.Join(d, nm)); err != nil {
				return err
			}
			delete(s.files, path.Join(d, nm))
			gone++
		}
	}
	s.logf("bigdir %q deleted %d", d, gone)
	return nil
}

// holes fills free space with one-cluster files, deletes every other one
// and writes a file that can only go into the holes: a fragmented file
// (drivers that allocate forward keep interleaved appends contiguous).
func (s *state) holes() error {
	d := path.Join(s.dir(), s.name())
	if err := s.t.mkdir(d); err != nil {
		return err
	}
	s.dirs = append(s.dirs, d)
	n := 20 + s.r.IntN(200)
	s.logf("holes %q %d", d, n)
	for i := 0; i < n; i++ {
		p := path.Join(d, fmt.Sprintf("h%d", i))
		if err := s.t.writeAt(p, 0, s.data(s.cluster)); err != nil {
			return err
		}
		s.files[p] = s.cluster
	}
	for i := 0; i < n; i += 2 {
		p := path.Join(d, fmt.Sprintf("h%d", i))
		if err := s.t.remove(p); err != nil {
			return err
		}
		delete(s.files, p)
	}
	p := path.Join(d, "fragmented")
	size := int64(n/2)*s.cluster + s.r.Int64N(s.cluster)
	if err := s.t.writeAt(p, 0, s.data(size)); err != nil {
		return err
	}
	s.files[p] = size
	return nil
}

func (s *state) nt() ntfsTarget { return s.t.(ntfsTarget) }

// stream adds (or removes) a named stream: many small ones or a large one.
func (s *state) stream() error {
	p := s.file()
	if s.r.IntN(5) == 0 {
		p = s.dir()
	}
	if p == "" {
		return nil
	}
	if p == "" || s.links[p] {
		return nil
	}
	count := 1
	if s.r.IntN(4) == 0 {
		count = 10 + s.r.IntN(40)
	}
	for i := 0; i < count; i++ {
		nm := pick(s.r, "Zone.Identifier", "stream", "ünï", "big", "s"+strconv.Itoa(s.r.IntN(100)))
		var n int64
		switch s.r.IntN(4) {
		case 0:
			n = 0
		case 1, 2:
			n = s.r.Int64N(600)
		default:
			n = s.r.Int64N(60000) // ntfs-3g takes up to 64 KiB through setxattr
		}
		s.logf("stream %q:%s %d", p, nm, n)
		if err := s.nt().setxattr(p, "user."+nm, s.data(n)); err != nil {
			return err
		}
	}
	if s.r.IntN(4) == 0 {
		s.logf("stream-rm %q:Zone.Identifier", p)
		_ = s.nt().removexattr(p, "user.Zone.Identifier") // may not exist
	}
	return nil
}

// hardlinks gives a file more names; sometimes so many long ones that its
// $FILE_NAME attributes overflow the record into an attribute list.
func (s *state) hardlinks() error {
	p := s.file()
	if p == "" {
		return nil
	}
	n := 1 + s.r.IntN(3)
	if s.r.IntN(3) == 0 {
		n = 40 + s.r.IntN(120)
	}
	s.logf("links %q %d", p, n)
	for i := 0; i < n; i++ {
		to := path.Join(s.dir(), fmt.Sprintf("link-%d-of-%s", i, strings.Repeat("l", 20+s.r.IntN(80))))
		if _, ok := s.files[to]; ok {
			continue
		}
		if err := s.nt().link(p, to); err != nil {
			return err
		}
		s.files[to] = s.files[p]
	}
	// The names share one size: mark them so later writes keep them equal.
	return nil
}

// symlink makes a symlink as ntfs-3g writes it (relative, to a file or a
// directory, dangling or absolute), or a reparse-point symlink written raw.
func (s *state) symlink() error {
	p := path.Join(s.dir(), s.name())
	var target string
	switch s.r.IntN(4) {
	case 0:
		if f := s.file(); f != "" {
			rel, _ := filepath.Rel(path.Dir("/"+p), "/"+f)
			target = rel
		} else {
			target = "nowhere"
		}
	case 1:
		rel, _ := filepath.Rel(path.Dir("/"+p), "/"+s.dir())
		target = rel
	case 2:
		target = "../../../../escape/" + s.name()
	default:
		raw := pick(s.r, `C:\Windows\System32`, `..\up\there.txt`, `sub\file.txt`)
		rel := !strings.HasPrefix(raw, "C:")
		s.logf("reparse-symlink %q %q", p, raw)
		if err := s.t.writeAt(p, 0, []byte("x")); err != nil {
			return err
		}
		subst := raw
		if !rel {
			subst = `\??\` + raw
		}
		s.links[p] = true
		return s.nt().setxattr(p, "system.ntfs_reparse_data", reparseSymlink(raw, subst, rel))
	}
	s.logf("symlink %q -> %q", p, target)
	if err := s.nt().symlink(target, p); err != nil {
		return err
	}
	s.links[p] = true
	return nil
}

// junction makes an empty directory a mount point (junction) to a
// Windows path, raw reparse data through ntfs-3g.
//
// Junctions live in one folder, junctions/, outside the model's folders:
// ntfs-3g shows them as symlinks and refuses to unlink them (EISDIR), so
// no later remove may reach them.
func (s *state) junction() error {
	if s.names["junctions"] == 0 {
		if err := s.t.mkdir("junctions"); err != nil {
			return err
		}
	}
	s.names["junctions"]++
	p := path.Join("junctions", s.name())
	if err := s.t.mkdir(p); err != nil {
		return err
	}
	raw := pick(s.r, `C:\Windows`, `C:\Users\Public`, `D:\data`)
	s.logf("junction %q %q", p, raw)
	s.links[p] = true
	return s.nt().setxattr(p, "system.ntfs_reparse_data", reparseMountPoint(raw, `\??\`+raw))
}

// attrib sets Windows attributes: read-only, hidden, system, archive.
func (s *state) attrib() error {
	p := s.file()
	if p == "" || s.links[p] {
		return nil
	}
	a := pick(s.r, 0x1, 0x2, 0x3, 0x4, 0x20, 0x21, 0x26)
	s.logf("attrib %q %#x", p, a)
	return s.nt().setxattr(p, "system.ntfs_attrib_be", binary.BigEndian.AppendUint32(nil, uint32(a)))
}

// compressedDir marks a new directory compressed: files written into it
// are LZNT1-compressed by ntfs-3g (clusters up to 4 KiB only).
func (s *state) compressedDir() error {
	d := path.Join(s.dir(), s.name())
	if err := s.t.mkdir(d); err != nil {
		return err
	}
	s.dirs = append(s.dirs, d)
	s.logf("compressed-dir %q", d)
	if err := s.nt().setxattr(d, "system.ntfs_attrib_be", binary.BigEndian.AppendUint32(nil, 0x800)); err != nil {
		return err
	}
	for i := 0; i < 1+s.r.IntN(6); i++ {
		if err := s.createAt(path.Join(d, s.name())); err != nil {
			return err
		}
	}
	return nil
}

// caseTwins makes names differing only in case in one directory (ntfs-3g
// writes POSIX-namespace names).
func (s *state) caseTwins() error {
	d := s.dir()
	base := fmt.Sprintf("twin%d", s.r.IntN(1000))
	for _, nm := range []string{base + ".txt", strings.ToUpper(base) + ".TXT", "T" + base[1:] + ".txt"} {
		p := path.Join(d, nm)
		if _, ok := s.files[p]; ok || s.links[p] {
			continue
		}
		s.logf("create %q (case twin)", p)
		if err := s.t.writeAt(p, 0, []byte(nm)); err != nil {
			return err
		}
		s.files[p] = int64(len(nm))
	}
	return nil
}
