package catalog

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/vhdx"
)

// fakeMembers answers Options.Members by the file name of the chain's
// top layer: what each disk state holds is given by the test. (The real
// reading, guest.GroupMembers over LVM disks, is tested in guest and
// cmd/ckptfs.)
func fakeMembers(by map[string][]Member) func(io.ReaderAt, int64) ([]Member, error) {
	return func(r io.ReaderAt, _ int64) ([]Member, error) {
		ch, ok := r.(*vhdx.Chain)
		if !ok {
			return nil, fmt.Errorf("not a chain: %T", r)
		}
		return by[filepath.Base(ch.Layers[0].Name)], nil
	}
}

func pv(group, id string, seqno int64, lists ...string) Member {
	return Member{Group: group, ID: id, Seqno: seqno, Lists: lists, Desc: "physical volume " + id}
}

// disksOf lists a checkpoint's disks as "Disk0=file,Disk1=file".
func disksOf(cp *Checkpoint) string {
	var s []string
	for _, d := range cp.Disks {
		s = append(s, d.Name+"="+stem(d.File))
	}
	return strings.Join(s, ",")
}

func checkpointDisks(vm *VM) string {
	var s []string
	for _, cp := range vm.Checkpoints {
		s = append(s, cp.Name+":"+disksOf(cp))
	}
	return strings.Join(s, " ")
}

// TestLooseDisksOfOneGroup: disk trees with no configuration whose live
// states hold physical volumes of one group are one VM, their states
// paired level by level (equal chains, the same metadata); a tree of
// another group, one of no group, one in another folder, stay alone.
func TestLooseDisksOfOneGroup(t *testing.T) {
	dir := chainDir(t, [][2]string{
		{"a.vhdx", ""}, {"a_1.avhdx", "a.vhdx"},
		{"b.vhdx", ""}, {"b_1.avhdx", "b.vhdx"},
		{"c.vhdx", ""}, {"d.vhdx", ""},
		{"other/e.vhdx", ""},
	})
	m := map[string][]Member{
		"a.vhdx": {pv("vg1", "pa", 3, "pa", "pb")}, "a_1.avhdx": {pv("vg1", "pa", 4, "pa", "pb")},
		"b.vhdx": {pv("vg1", "pb", 3, "pa", "pb")}, "b_1.avhdx": {pv("vg1", "pb", 4, "pa", "pb")},
		"c.vhdx": {pv("vg2", "pc", 1, "pc", "px")},
		"e.vhdx": {pv("vg1", "pe", 4, "pa", "pb", "pe")},
	}
	c := open(t, dir, Options{Members: fakeMembers(m)})
	var vms []string
	for _, vm := range c.VMs {
		vms = append(vms, vm.Name)
	}
	if got := strings.Join(vms, " "); got != "a c d e" {
		t.Fatalf("VMs %s", got)
	}
	vm := c.VMs[0]
	if got := names(vm); got != "Now*<-a_1 a a_1<-a" {
		t.Errorf("checkpoints %s", got)
	}
	if got := checkpointDisks(vm); got != "a:Disk0=a,Disk1=b a_1:Disk0=a_1,Disk1=b_1 Now:Disk0=a_1,Disk1=b_1" {
		t.Errorf("disks %s", got)
	}
	if cp, err := vm.Find("b_1"); err != nil || cp.Name != "a_1" {
		t.Errorf("Find(b_1): %v %v", cp, err)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %q", c.Warnings)
	}
	// Without Members, or given one disk file: one VM per tree.
	if c := open(t, dir, Options{}); len(c.VMs) != 5 {
		t.Errorf("without Members: %d VMs", len(c.VMs))
	}
	if c := open(t, filepath.Join(dir, "a_1.avhdx"), Options{Members: fakeMembers(m)}); len(c.VMs) != 1 || len(c.VMs[0].Checkpoints[0].Disks) != 1 {
		t.Errorf("one disk file: %d VMs", len(c.VMs))
	}
}

// TestLooseDisksWithoutMetadata: a physical volume made without a
// metadata area tells no group; it goes with the group that lists it.
func TestLooseDisksWithoutMetadata(t *testing.T) {
	dir := chainDir(t, [][2]string{{"a.vhdx", ""}, {"b.vhdx", ""}, {"z.vhdx", ""}})
	m := map[string][]Member{
		"a.vhdx": {pv("vg1", "pa", 3, "pa", "pb")},
		"b.vhdx": {{ID: "pb"}},
		"z.vhdx": {{ID: "pz"}},
	}
	c := open(t, dir, Options{Members: fakeMembers(m)})
	if len(c.VMs) != 2 || checkpointDisks(c.VMs[0]) != "a:Disk0=a,Disk1=b Now:Disk0=a,Disk1=b" || c.VMs[1].Name != "z" {
		t.Errorf("%d VMs: %s", len(c.VMs), checkpointDisks(c.VMs[0]))
	}
}

// TestLooseDisksCopied: two trees holding one physical volume (a disk
// copied beside its original) are not put together with anything, and
// a warning names both files: which one is real is not guessed.
func TestLooseDisksCopied(t *testing.T) {
	dir := chainDir(t, [][2]string{{"a.vhdx", ""}, {"a-copy.vhdx", ""}, {"b.vhdx", ""}})
	m := map[string][]Member{
		"a.vhdx":      {pv("vg1", "pa", 3, "pa", "pb")},
		"a-copy.vhdx": {pv("vg1", "pa", 3, "pa", "pb")},
		"b.vhdx":      {pv("vg1", "pb", 3, "pa", "pb")},
	}
	c := open(t, dir, Options{Members: fakeMembers(m)})
	if len(c.VMs) != 3 {
		t.Errorf("%d VMs", len(c.VMs))
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], filepath.Join(dir, "a.vhdx")) || !strings.Contains(c.Warnings[0], filepath.Join(dir, "a-copy.vhdx")) ||
		!strings.Contains(c.Warnings[0], "physical volume pa") {
		t.Errorf("warnings %q", c.Warnings)
	}
}

// TestLooseDisksOfUnequalChains: chains of 3 and 2 files. The live
// states are joined (Now and the leaves' level); the older files are
// each a checkpoint of its own disk (a disk's old state is not paired
// with another's on a guess), and a warning says so.
func TestLooseDisksOfUnequalChains(t *testing.T) {
	dir := chainDir(t, [][2]string{
		{"a.vhdx", ""}, {"a_1.avhdx", "a.vhdx"}, {"a_2.avhdx", "a_1.avhdx"},
		{"b.vhdx", ""}, {"b_1.avhdx", "b.vhdx"},
	})
	m := map[string][]Member{
		"a_2.avhdx": {pv("vg1", "pa", 4, "pa", "pb")},
		"b_1.avhdx": {pv("vg1", "pb", 4, "pa", "pb")},
	}
	c := open(t, dir, Options{Members: fakeMembers(m)})
	if len(c.VMs) != 1 {
		t.Fatalf("%d VMs", len(c.VMs))
	}
	vm := c.VMs[0]
	if got := checkpointDisks(vm); got != "a:Disk0=a a_1:Disk0=a_1 a_2:Disk0=a_2,Disk1=b_1 Now:Disk0=a_2,Disk1=b_1 b:Disk1=b" {
		t.Errorf("disks %s", got)
	}
	if got := names(vm); got != "Now*<-a_2 a a_1<-a a_2<-a_1 b" {
		t.Errorf("checkpoints %s", got)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "chains have 3, 2 files") || !strings.Contains(c.Warnings[0], "a_2.avhdx, b_1.avhdx") {
		t.Errorf("warnings %q", c.Warnings)
	}
}

// TestLooseDisksOfDifferentMetadata: equal chains whose older states
// hold different versions of the group's metadata (an lvextend between
// one disk's checkpoint and the other's) are not paired from there down.
func TestLooseDisksOfDifferentMetadata(t *testing.T) {
	dir := chainDir(t, [][2]string{
		{"a.vhdx", ""}, {"a_1.avhdx", "a.vhdx"}, {"a_2.avhdx", "a_1.avhdx"},
		{"b.vhdx", ""}, {"b_1.avhdx", "b.vhdx"}, {"b_2.avhdx", "b_1.avhdx"},
	})
	m := map[string][]Member{
		"a.vhdx": {pv("vg1", "pa", 2, "pa", "pb")}, "a_1.avhdx": {pv("vg1", "pa", 3, "pa", "pb")}, "a_2.avhdx": {pv("vg1", "pa", 4, "pa", "pb")},
		"b.vhdx": {pv("vg1", "pb", 2, "pa", "pb")}, "b_1.avhdx": {pv("vg1", "pb", 2, "pa", "pb")}, "b_2.avhdx": {pv("vg1", "pb", 4, "pa", "pb")},
	}
	c := open(t, dir, Options{Members: fakeMembers(m)})
	vm := c.VMs[0]
	if got := checkpointDisks(vm); got != "a:Disk0=a a_1:Disk0=a_1 a_2:Disk0=a_2,Disk1=b_2 Now:Disk0=a_2,Disk1=b_2 b:Disk1=b b_1:Disk1=b_1" {
		t.Errorf("disks %s", got)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "sequence numbers 3 and 2") {
		t.Errorf("warnings %q", c.Warnings)
	}
}

// TestLooseClonesOfOneDisk: clones of a VM of one disk (their volume
// group, of one physical volume, has the same UUIDs in each) have
// nothing to join: each stays a VM of its own, with no warning.
func TestLooseClonesOfOneDisk(t *testing.T) {
	dir := chainDir(t, [][2]string{{"web1.vhdx", ""}, {"web2.vhdx", ""}, {"web3.vhdx", ""}})
	m := map[string][]Member{
		"web1.vhdx": {pv("vg1", "px", 3, "px")},
		"web2.vhdx": {pv("vg1", "px", 3, "px")},
		"web3.vhdx": {pv("vg1", "px", 5, "px")},
	}
	c := open(t, dir, Options{Members: fakeMembers(m)})
	if len(c.VMs) != 3 || len(c.Warnings) != 0 {
		t.Errorf("%d VMs, warnings %q", len(c.VMs), c.Warnings)
	}
}
