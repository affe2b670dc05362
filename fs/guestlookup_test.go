//go:build linux

package fs

import (
	iofs "io/fs"
	"os"
	"path"
	"reflect"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/guest"
)

// TestGuestLookupNTFSByRef checks that a lookup starting from the parent's
// MFT reference (what guestDir.Lookup does on NTFS) describes every name of
// a real volume exactly as lstat of the whole path does: same inode number
// (hard links included), type, size and metadata; and misses the same.
func TestGuestLookupNTFSByRef(t *testing.T) {
	img, err := os.Open(ntfsImage(t))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	st, err := img.Stat()
	if err != nil {
		t.Fatal(err)
	}
	vols, err := guest.Volumes(img, st.Size(), "t")
	if err != nil || len(vols) != 1 || vols[0].FS == nil {
		t.Fatalf("volumes: %v %v", vols, err)
	}
	nv := vols[0].FS
	if _, ok := nv.(guest.DirLookuper); !ok {
		t.Fatalf("an NTFS volume's %T cannot look up by directory", nv)
	}
	vol := &volume{fsys: nv, inos: &inoSpace{vol: 1}}
	rootInfo, err := iofs.Stat(nv, ".")
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]*guestNode{}
	node, _ := vol.node(".", rootInfo)
	dirs["."] = &node.(*guestDir).guestNode
	checked := 0
	err = iofs.WalkDir(nv, ".", func(p string, d iofs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		parent, name := dirs[path.Dir(p)], path.Base(p)
		for _, n := range []string{name, strings.ToUpper(name), name + "~"} {
			want, werr := vol.lstat(path.Join(parent.path, n))
			got, gerr := vol.lookupIn(parent, n)
			if toErrno(werr) != toErrno(gerr) {
				t.Errorf("%s/%s: lookup %v, lstat %v", parent.path, n, gerr, werr)
				continue
			}
			if werr != nil {
				continue
			}
			q := path.Join(parent.path, n)
			if vol.ino(q, got) != vol.ino(q, want) || got.Mode() != want.Mode() || got.Size() != want.Size() ||
				got.Name() != want.Name() || !reflect.DeepEqual(guest.MetaOf(got), guest.MetaOf(want)) {
				t.Errorf("%s: lookup %v %d, lstat %v %d", q, got.Mode(), got.Size(), want.Mode(), want.Size())
			}
			checked++
		}
		if d.IsDir() {
			fi, err := vol.lookupIn(parent, name)
			if err != nil {
				return err
			}
			n, _ := vol.node(p, fi)
			if g, ok := n.(*guestDir); ok {
				dirs[p] = &g.guestNode
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 3000 {
		t.Fatalf("only %d names checked", checked)
	}
}
