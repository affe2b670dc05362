//go:build linux

package crosswin

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/ckptfs/ckptfs/guest"
)

// entry is what one reader says about one path of a volume. Each oracle
// fills what it can see; compare looks only at what both sides have.
type entry struct {
	typ     byte // 'f' file, 'd' directory, 'l' symlink or junction
	size    int64
	hash    string // of the content, files only
	mtime   time.Time
	nlink   int
	id      uint64            // MFT record (NTFS)
	streams map[string]string // named stream -> hash of its content
	target  string            // a link's target resolved in the volume ("" = root)
	attrs   uint32            // Windows attributes (NTFS)
	// alloc is the bytes allocated to the file's data (what st_blocks
	// counts and SEEK_DATA finds), -1 when unknown.
	alloc int64
}

// tree maps slash-separated paths inside the volume ("a/b") to entries.
// The root is left out.
type tree map[string]*entry

// openOurs opens the image as ckptfs does: guest.Volumes over the whole
// image (no partition table), its one volume's filesystem.
func openOurs(c *checker, img string) fs.FS {
	f, err := os.Open(img)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		c.t.Fatal(err)
	}
	vols, err := guest.Volumes(f, st.Size(), "img")
	if err != nil {
		c.errorf("guest.Volumes: %v", err)
		c.t.FailNow()
	}
	if len(vols) != 1 || vols[0].FS == nil {
		var why error
		if len(vols) > 0 {
			why = vols[0].Err
		}
		c.errorf("guest.Volumes gave %d volumes, first not readable: %v", len(vols), why)
		c.t.FailNow()
	}
	return vols[0].FS
}

// readOurs reads the whole volume through the guest contract.
func readOurs(c *checker, fsys fs.FS) tree {
	t := tree{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			c.errorf("ours: %s: %v", p, err)
			return nil
		}
		if p == "." {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			c.errorf("ours: %s: %v", p, err)
			return nil
		}
		t[p] = ourEntry(c, fsys, p, fi)
		return nil
	})
	if err != nil {
		c.errorf("ours: walk: %v", err)
	}
	return t
}

func ourEntry(c *checker, fsys fs.FS, p string, fi fs.FileInfo) *entry {
	m := guest.MetaOf(fi)
	e := &entry{size: fi.Size(), mtime: fi.ModTime(), nlink: m.Nlink, id: m.ID, attrs: m.Attrs, alloc: -1}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		e.typ, e.size = 'l', 0
		raw, err := fs.ReadLink(fsys, p)
		if err != nil {
			c.errorf("ours: readlink %s: %v", p, err)
		}
		_, posix := fsys.(guest.POSIXLinker)
		e.target = resolve(p, guest.RewriteLink(p, raw, !posix))
	case fi.IsDir():
		e.typ, e.size = 'd', 0
	default:
		e.typ = 'f'
		f, err := guest.OpenFile(fsys, p, fi)
		if err != nil {
			c.errorf("ours: open %s: %v", p, err)
			break
		}
		e.hash = hashOf(c, "ours: "+p, f)
		e.alloc = allocOf(f)
		f.Close()
	}
	if len(m.Streams) > 0 {
		e.streams = map[string]string{}
		for _, s := range m.Streams {
			r, err := guest.OpenStream(fsys, p, s)
			if err != nil {
				c.errorf("ours: stream %s:%s: %v", p, s, err)
				continue
			}
			e.streams[s] = hashOf(c, "ours: "+p+":"+s, r)
			r.Close()
		}
	}
	return e
}

// allocOf sums the data extents of f when their holes are holes of its
// content (as the mount's SEEK_HOLE takes them: fs/guestalloc.go), -1
// otherwise.
func allocOf(f fs.File) int64 {
	exts, exact, ok, err := guest.FileExtents(f)
	if !ok || err != nil || exts == nil { // nil: resident, or no map
		return -1
	}
	if hm, isHM := f.(guest.HoleMapper); !exact && !(isHM && hm.HolesExact()) {
		return -1
	}
	var n int64
	for _, x := range exts {
		if x.Kind == guest.ExtentData {
			n += x.Len
		}
	}
	return n
}

// hashOf hashes everything r gives.
func hashOf(c *checker, what string, r io.Reader) string {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		c.errorf("%s: read: %v", what, err)
		return "unreadable"
	}
	return hex.EncodeToString(h.Sum(nil))
}

// resolve gives the volume path that target, a link's target as its
// reader shows it, names from the link at p: relative to p's directory,
// or from the volume root when it starts with a slash; ".." at the root
// stays at the root, as guest.RewriteLink's rule 5 and the kernel both do.
func resolve(p, target string) string {
	var parts []string
	if len(target) == 0 || target[0] != '/' {
		if d := path.Dir(p); d != "." {
			parts = splitSlash(d)
		}
	}
	for _, el := range splitSlash(target) {
		switch el {
		case ".", "":
		case "..":
			if len(parts) > 0 {
				parts = parts[:len(parts)-1]
			}
		default:
			parts = append(parts, el)
		}
	}
	return path.Join(parts...)
}

func splitSlash(s string) []string {
	return slices.DeleteFunc(strings.Split(s, "/"), func(el string) bool { return el == "" })
}
