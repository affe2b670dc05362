//go:build linux

package crosswin

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// mountRO mounts img read-only at a new directory with the FUSE driver
// of kind (ntfs-3g, exfat-fuse through a read-only loop device) and
// unmounts it when the test ends.
func mountRO(c *checker, img, kind string) string {
	t := c.t
	dir := t.TempDir()
	var dev string
	switch kind {
	case "ntfs":
		testutil.Run(t, "ntfs-3g", "-o", "ro,streams_interface=xattr", img, dir)
	case "exfat":
		dev = strings.TrimSpace(string(testutil.Run(t, "losetup", "-f", "--show", "-r", img)))
		if out, err := exec.Command("mount.exfat-fuse", "-o", "ro", dev, dir).CombinedOutput(); err != nil {
			exec.Command("losetup", "-d", dev).Run()
			t.Fatalf("mount.exfat-fuse: %v: %s", err, out)
		}
	}
	t.Cleanup(func() {
		for i := 0; i < 50; i++ {
			if exec.Command("fusermount3", "-u", dir).Run() == nil || exec.Command("fusermount", "-u", dir).Run() == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if dev != "" {
			exec.Command("losetup", "-d", dev).Run()
		}
	})
	return dir
}

// copyOutFAT copies the whole FAT volume to a host directory with mtools
// (this kernel has no vfat to mount it), keeping modification times.
func copyOutFAT(c *checker, img string) string {
	dir := c.t.TempDir()
	cmd := exec.Command("mcopy", "-s", "-m", "-n", "-i", img, "::/", dir)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1", "LC_ALL=C.UTF-8", "TZ=UTC")
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("mcopy: %v: %s", err, out)
	}
	return dir
}

// readHost reads the tree under root as the kernel shows it (a FUSE
// mount or a copy): types, sizes, content, mtime, link count, inode, and
// what ntfs-3g adds in xattrs (streams as user.*, attributes).
func readHost(c *checker, root string, ntfs3g bool) tree {
	t := tree{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			c.errorf("oracle: %s: %v", p, err)
			return nil
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			c.errorf("oracle: %s: %v", rel, err)
			return nil
		}
		e := &entry{size: st.Size, mtime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec), nlink: int(st.Nlink), id: st.Ino,
			alloc: st.Blocks * 512}
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFLNK:
			e.typ, e.size = 'l', 0
			target, err := os.Readlink(p)
			if err != nil {
				c.errorf("oracle: readlink %s: %v", rel, err)
			}
			e.target = resolveHost(root, rel, target)
		case syscall.S_IFDIR:
			e.typ, e.size = 'd', 0
		case syscall.S_IFREG:
			e.typ = 'f'
			f, err := os.Open(p)
			if err != nil {
				c.errorf("oracle: %s: %v", rel, err)
				break
			}
			e.hash = hashOf(c, "oracle: "+rel, f)
			f.Close()
		default:
			e.typ = 'p' // never opened: a FIFO would block
		}
		if ntfs3g && e.typ != 'l' {
			readNTFS3GXattrs(c, p, rel, e)
		}
		t[rel] = e
		return nil
	})
	if err != nil {
		c.errorf("oracle: walk: %v", err)
	}
	return t
}

// resolveHost turns a target read from the oracle's mount into a volume
// path. ntfs-3g shows an absolute Windows target (C:\x, junctions) as
// MOUNT/.NTFS-3G/C:/x: from the volume root, as guest.RewriteLink takes
// a drive letter.
func resolveHost(root, rel, target string) string {
	if rest, ok := strings.CutPrefix(target, root+"/.NTFS-3G/"); ok {
		if len(rest) >= 2 && rest[1] == ':' {
			return resolve(rel, "/"+rest[2:])
		}
	}
	return resolve(rel, target)
}

// readNTFS3GXattrs reads the named streams (user.*) and the Windows
// attributes (system.ntfs_attrib, little-endian) ntfs-3g shows.
func readNTFS3GXattrs(c *checker, p, rel string, e *entry) {
	buf := make([]byte, 1<<20)
	n, err := syscall.Listxattr(p, buf)
	if err != nil {
		c.errorf("oracle: listxattr %s: %v", rel, err)
		return
	}
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		s, ok := strings.CutPrefix(name, "user.")
		if !ok {
			continue
		}
		m, err := syscall.Getxattr(p, name, buf)
		if err != nil {
			c.errorf("oracle: getxattr %s %s: %v", rel, name, err)
			continue
		}
		if e.streams == nil {
			e.streams = map[string]string{}
		}
		e.streams[s] = hashOf(c, "oracle", bytes.NewReader(buf[:m]))
	}
	if m, err := syscall.Getxattr(p, "system.ntfs_attrib", buf); err == nil && m == 4 {
		e.attrs = binary.LittleEndian.Uint32(buf)
	} else {
		c.errorf("oracle: %s: system.ntfs_attrib: %d bytes, %v", rel, m, err)
	}
}

// readTSK lists the volume with sleuthkit's fls (allocated entries only)
// and reads every non-empty file and stream with icat.
func readTSK(c *checker, img string, streams bool) tree {
	t := tree{}
	later := map[string]map[string]string{}
	var allocated map[string]bool
	if streams { // NTFS
		allocated = tskAllocated(c, img)
	}
	out := testutil.Run(c.t, "fls", "-r", "-p", "-u", "-l", img)
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 7 {
			continue
		}
		typ, addr, _ := strings.Cut(strings.TrimSuffix(f[0], ":"), " ")
		p := f[1]
		if tskVirtual(p) || typ == "V/V" {
			continue
		}
		if d := path.Dir(strings.SplitN(p, ":", 2)[0]); d != "." && (t[d] == nil || t[d].typ != 'd') {
			// fls -r -u descends into deleted directories (a directory
			// renamed by exfat-fuse leaves its old entry set, deleted) and
			// lists their still-allocated children under the old name.
			continue
		}
		size, _ := strconv.ParseInt(f[6], 10, 64)
		e := &entry{typ: 'f', size: size, alloc: -1}
		// The type after the slash is the file's own; the one before
		// comes from the name's directory entry, and sleuthkit shows
		// some NTFS folders as "-/d" (ntfs-3g seed 4: junctions/).
		if strings.HasSuffix(typ, "/d") {
			e.typ, e.size = 'd', 0
		}
		if strings.HasSuffix(typ, "/-") || allocated != nil && !allocated[strings.SplitN(addr, "-", 2)[0]] {
			// fls -u lists stale index entries left in a folder's B+
			// tree after mass deletes: to a free MFT record (istat: "Not
			// Allocated File", Links: 0), or to one reused by another
			// file ("r/-": seed 4's entry-00127-... names record 315,
			// which istat shows as h23). ntfs-3g lists neither.
			continue
		}
		if mt, err := time.Parse("2006-01-02 15:04:05 (MST)", f[2]); err == nil {
			e.mtime = mt
		}
		if base, stream, ok := strings.Cut(p, ":"); ok {
			if !streams || strings.HasSuffix(base, "/.") {
				continue // a directory's streams are listed twice
			}
			// A directory's streams come before its own line.
			if later[base] == nil {
				later[base] = map[string]string{}
			}
			later[base][stream] = icat(c, img, addr, size)
			continue
		}
		if e.typ == 'f' {
			e.hash = icat(c, img, addr, size)
		}
		t[p] = e
	}
	for p, streams := range later {
		if e := t[p]; e != nil {
			e.streams = streams
		} else {
			c.errorf("sleuthkit: streams of %q, which fls does not list", p)
		}
	}
	return t
}

// tskAllocated returns the allocated MFT records as ils -a lists them.
func tskAllocated(c *checker, img string) map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(string(testutil.Run(c.t, "ils", "-a", img)), "\n") {
		if ino, rest, ok := strings.Cut(line, "|"); ok && strings.HasPrefix(rest, "a|") {
			m[ino] = true
		}
	}
	return m
}

// tskVirtual reports sleuthkit's own entries: $MFT and the other NTFS
// metadata files, exFAT's $ALLOC_BITMAP and $UPCASE_TABLE, FAT's $MBR,
// $FAT1, $OrphanFiles, and volume labels.
// $VOLUME_GUID also turns up in exFAT subdirectories, where it cannot be
// (the generator makes no name starting with $).
func tskVirtual(p string) bool {
	return strings.HasPrefix(path.Base(p), "$") || strings.Contains(p, "(Volume Label Entry)")
}

// icat hashes what icat reads at addr ("" for an empty file: not run).
func icat(c *checker, img, addr string, size int64) string {
	if size == 0 {
		return hashOf(c, "", bytes.NewReader(nil))
	}
	out, err := exec.Command("icat", img, addr).Output()
	if err != nil {
		return "icat failed: " + err.Error()
	}
	return hashOf(c, "", bytes.NewReader(out))
}
