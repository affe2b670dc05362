package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/vhdx"
)

// TestRenamedParent renames a child's parent, as forensic copies often
// are: the locator names a file that is not there, but the child's
// linkage names the parent's DataWriteGuid, so the parent is found among
// the disks of the folder (an unrelated disk next to it is not taken),
// and a warning says which file was chosen. The same holds when the
// source is the child alone.
func TestRenamedParent(t *testing.T) {
	dir := chainDir(t, [][2]string{{"web.vhdx", ""}, {snap1 + ".avhdx", "web.vhdx"}, {snap2 + ".avhdx", snap1 + ".avhdx"}})
	renamed := filepath.Join(dir, "evidence-0001.vhdx")
	if err := os.Rename(filepath.Join(dir, "web.vhdx"), renamed); err != nil {
		t.Fatal(err)
	}
	makeBase(t, filepath.Join(dir, "aaa-other.vhdx"), diskSize) // a decoy, sorted first
	for _, src := range []string{dir, filepath.Join(dir, snap2+".avhdx")} {
		c := open(t, src, Options{})
		vm := vmNamed(t, c, "evidence-0001")
		if got, want := names(vm), sortedWords("evidence-0001 "+snap1+"<-evidence-0001 "+snap2+"<-"+snap1+" Now*<-"+snap2); got != want {
			t.Errorf("%s: checkpoints %q, want %q", src, got, want)
		}
		now, err := vm.Find("Now")
		if err != nil {
			t.Fatal(err)
		}
		if l := now.Disks[0].Chain.Layers; len(l) != 3 || l[2].Name != renamed {
			t.Errorf("%s: chain %v", src, layerNames(l))
		}
		if !hasWarning(c, filepath.Base(renamed), "DataWriteGuid") {
			t.Errorf("%s: no warning names the file chosen: %q", src, c.Warnings)
		}
		if src != dir && len(c.VMs) != 1 {
			t.Errorf("%s: the files looked at became VMs: %d", src, len(c.VMs))
		}
	}
}

// TestRenamedParentReplaced covers a locator that leads to a file of the
// right name that is another disk, the real parent having been renamed:
// the file whose DataWriteGuid matches wins, with a warning.
func TestRenamedParentReplaced(t *testing.T) {
	dir := chainDir(t, [][2]string{{"web.vhdx", ""}, {snap1 + ".avhdx", "web.vhdx"}})
	base := filepath.Join(dir, "web.vhdx")
	moved := filepath.Join(dir, "web-copy.vhdx")
	if err := os.Rename(base, moved); err != nil {
		t.Fatal(err)
	}
	makeBase(t, base, diskSize)
	c := open(t, filepath.Join(dir, snap1+".avhdx"), Options{})
	now, err := c.VMs[0].Find("Now")
	if err != nil {
		t.Fatal(err)
	}
	if l := now.Disks[0].Chain.Layers; len(l) != 2 || l[1].Name != moved {
		t.Errorf("chain %v, want the moved parent", layerNames(l))
	}
	if !hasWarning(c, "web-copy.vhdx", "another disk") {
		t.Errorf("warnings %q", c.Warnings)
	}
	// Without a file of matching identity the mismatch is still an error.
	if err := os.Remove(moved); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(dir, snap1+".avhdx"), Options{}); !errors.Is(err, vhdx.ErrParent) || !strings.Contains(err.Error(), "DataWriteGuid") {
		t.Errorf("parent replaced, no copy: %v", err)
	}
}

func layerNames(l []*vhdx.Disk) []string {
	var s []string
	for _, d := range l {
		s = append(s, d.Name)
	}
	return s
}

func hasWarning(c *Catalog, words ...string) bool {
	for _, w := range c.Warnings {
		ok := true
		for _, x := range words {
			ok = ok && strings.Contains(w, x)
		}
		if ok {
			return true
		}
	}
	return false
}

// TestRenamedWithoutExtension renames a parent and a child the way
// imaging tools name copies (no disk extension): the child given as the
// source is read because its bytes are a VHDX, its parent is found by
// identity among the files of its folder, and a text file there is no
// candidate.
func TestRenamedWithoutExtension(t *testing.T) {
	dir := chainDir(t, [][2]string{{"web.vhdx", ""}, {snap1 + ".avhdx", "web.vhdx"}})
	parent, child := filepath.Join(dir, "evidence.001"), filepath.Join(dir, "evidence.002")
	if err := os.Rename(filepath.Join(dir, "web.vhdx"), parent); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, snap1+".avhdx"), child); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("case 17"), 0o644)
	c := open(t, child, Options{})
	now, err := c.VMs[0].Find("Now")
	if err != nil {
		t.Fatal(err)
	}
	if l := now.Disks[0].Chain.Layers; len(l) != 2 || l[1].Name != parent {
		t.Errorf("chain %v", layerNames(l))
	}
	if !hasWarning(c, "using "+parent) {
		t.Errorf("warnings %q", c.Warnings)
	}
	if _, err := Open(filepath.Join(dir, "notes.txt"), Options{}); !errors.Is(err, ErrNotDisk) {
		t.Errorf("a text file as the source: %v", err)
	}
}
