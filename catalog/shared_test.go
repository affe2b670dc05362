package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Lab setups: several VMs made as differencing disks of one base
// ("golden") disk, each VM with its own configuration. The base, and any
// differencing file between it and a VM's disks, is a checkpoint of every
// VM built on it.

const (
	vm1ID   = "0A1B2C3D-0000-4000-8000-0000000000B1"
	vm2ID   = "0A1B2C3D-0000-4000-8000-0000000000B2"
	vm1Snap = "0A1B2C3D-0000-4000-8000-0000000001B1"
)

func writeConfig(t *testing.T, dir, rel string, b []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func vmNamed(t *testing.T, c *Catalog, name string) *VM {
	t.Helper()
	var found *VM
	for _, vm := range c.VMs {
		if vm.Name == name {
			if found != nil {
				t.Fatalf("two VMs named %q", name)
			}
			found = vm
		}
	}
	if found == nil {
		var all []string
		for _, vm := range c.VMs {
			all = append(all, vm.Name)
		}
		t.Fatalf("no VM %q among %q, warnings %q", name, all, c.Warnings)
	}
	return found
}

// checkpointsOf returns the checkpoints of vm whose first disk is file
// (base name), live states left out.
func checkpointsOf(vm *VM, file string) []*Checkpoint {
	var out []*Checkpoint
	for _, cp := range vm.Checkpoints {
		if !cp.Live && filepath.Base(cp.Disks[0].File) == file {
			out = append(out, cp)
		}
	}
	return out
}

// noDuplicates fails when a VM lists one disk file as two frozen
// checkpoints, or two checkpoints under one name or id.
func noDuplicates(t *testing.T, c *Catalog) {
	t.Helper()
	for _, vm := range c.VMs {
		files, names, ids := map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, cp := range vm.Checkpoints {
			id := strings.ToUpper(cp.ID)
			if names[cp.Name] || ids[id] {
				t.Errorf("VM %q: name %q or id %q listed twice", vm.Name, cp.Name, cp.ID)
			}
			names[cp.Name], ids[id] = true, true
			if !cp.Live {
				if files[cp.Disks[0].File] {
					t.Errorf("VM %q: %s is two checkpoints", vm.Name, cp.Disks[0].File)
				}
				files[cp.Disks[0].File] = true
			}
		}
	}
}

// labDir: golden.vhdx under VM1 (a checkpoint on vm1.vhdx, live on
// vm1_S1.avhdx, a leftover vm1_old.avhdx beside it) and under VM2 (live on
// vm2.vhdx), plus stray.avhdx on golden that no configuration names.
func labDir(t *testing.T) string {
	dir := chainDir(t, [][2]string{
		{"golden.vhdx", ""},
		{"vm1/vm1.vhdx", "golden.vhdx"},
		{"vm1/vm1_S1.avhdx", "vm1/vm1.vhdx"},
		{"vm1/vm1_old.avhdx", "vm1/vm1.vhdx"},
		{"vm2/vm2.vhdx", "golden.vhdx"},
		{"stray.avhdx", "golden.vhdx"},
	})
	t1 := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	writeConfig(t, dir, "vm1/Virtual Machines/"+vm1ID+".xml", xmlConfigOf(vm1ID, "VM1", vm1ID, vm1Snap, time.Time{}, "vm1_S1.avhdx"))
	writeConfig(t, dir, "vm1/Snapshots/"+vm1Snap+".xml", xmlConfigOf(vm1ID, "Installed", vm1Snap, "", t1, "vm1.vhdx"))
	writeConfig(t, dir, "vm2/Virtual Machines/"+vm2ID+".xml", xmlConfigOf(vm2ID, "VM2", vm2ID, "", time.Time{}, "vm2.vhdx"))
	return dir
}

func TestSharedBaseInEveryVM(t *testing.T) {
	c := open(t, labDir(t), Options{})
	if len(c.VMs) != 2 || len(c.Warnings) != 0 {
		t.Fatalf("%d VMs, warnings %q", len(c.VMs), c.Warnings)
	}
	vm1, vm2 := vmNamed(t, c, "VM1"), vmNamed(t, c, "VM2")
	// stray.avhdx hangs on golden, which both VMs list, and no
	// configured disk descends from it: it goes to one VM only, the
	// last configured in that tree.
	strayVM, otherVM := vm1, vm2
	if len(checkpointsOf(vm2, "stray.avhdx")) == 1 {
		strayVM, otherVM = vm2, vm1
	}
	if n := len(checkpointsOf(strayVM, "stray.avhdx")) + len(checkpointsOf(otherVM, "stray.avhdx")); n != 1 {
		t.Errorf("stray.avhdx listed %d times", n)
	}
	if strayVM != c.VMs[len(c.VMs)-1] {
		t.Errorf("stray.avhdx went to %q, not to the last configured VM", strayVM.Name)
	}
	strip := func(s string) string { return strings.TrimSpace(strings.Replace(s, " stray<-golden", "", 1)) }
	// vm1_old.avhdx hangs on vm1.vhdx, which only VM1 lists.
	if got := strip(names(vm1)); got != "Installed<-golden Now*<-Installed golden vm1_old<-Installed" {
		t.Errorf("VM1 checkpoints %q", names(vm1))
	}
	if got := strip(names(vm2)); got != "Now*<-golden golden" {
		t.Errorf("VM2 checkpoints %q", names(vm2))
	}
	if !strings.Contains(names(strayVM), "stray<-golden") {
		t.Errorf("%s checkpoints %q", strayVM.Name, names(strayVM))
	}
	g1, g2 := checkpointsOf(vm1, "golden.vhdx"), checkpointsOf(vm2, "golden.vhdx")
	if len(g1) != 1 || len(g2) != 1 {
		t.Fatalf("golden listed %d and %d times", len(g1), len(g2))
	}
	if g1[0] == g2[0] || g1[0].Disks[0].Chain != g2[0].Disks[0].Chain {
		t.Error("the VMs must have their own checkpoint over one shared chain")
	}
	if g1[0].Parent != nil || g2[0].Parent != nil || g1[0].ID != "golden" || g2[0].ID != "golden" {
		t.Errorf("golden: parents %v %v, ids %q %q", g1[0].Parent, g2[0].Parent, g1[0].ID, g2[0].ID)
	}
	// Parents before children, within each VM.
	for _, vm := range c.VMs {
		seen := map[*Checkpoint]bool{}
		for _, cp := range vm.Checkpoints {
			if cp.Parent != nil && !seen[cp.Parent] {
				t.Errorf("VM %q: %s listed before its parent", vm.Name, cp.Name)
			}
			seen[cp] = true
		}
	}
	noDuplicates(t, c)
	// One name in two VMs: the VM must be said.
	if _, _, err := c.Find("golden"); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("Find(golden) = %v, want ambiguous", err)
	}
	if vm, cp, err := c.Find("VM2/golden"); err != nil || vm != vm2 || cp != g2[0] {
		t.Errorf("Find(VM2/golden) = %v", err)
	}
}

// A differencing file between the base and both VMs' disks, named by no
// configuration, is a checkpoint of both, between golden and each live
// state.
func TestSharedIntermediate(t *testing.T) {
	dir := chainDir(t, [][2]string{
		{"golden.vhdx", ""},
		{"mid.avhdx", "golden.vhdx"},
		{"vm1/vm1.avhdx", "mid.avhdx"},
		{"vm2/vm2.avhdx", "mid.avhdx"},
	})
	writeConfig(t, dir, "vm1/Virtual Machines/"+vm1ID+".xml", xmlConfigOf(vm1ID, "VM1", vm1ID, "", time.Time{}, "vm1.avhdx"))
	writeConfig(t, dir, "vm2/Virtual Machines/"+vm2ID+".xml", xmlConfigOf(vm2ID, "VM2", vm2ID, "", time.Time{}, "vm2.avhdx"))
	c := open(t, dir, Options{})
	if len(c.VMs) != 2 || len(c.Warnings) != 0 {
		t.Fatalf("%d VMs, warnings %q", len(c.VMs), c.Warnings)
	}
	for _, name := range []string{"VM1", "VM2"} {
		vm := vmNamed(t, c, name)
		if got := names(vm); got != "Now*<-mid golden mid<-golden" {
			t.Errorf("%s checkpoints %q", name, got)
		}
		if len(vm.Checkpoints) != 3 || vm.Checkpoints[0].Name != "golden" || vm.Checkpoints[1].Name != "mid" || !vm.Checkpoints[2].Live {
			var order []string
			for _, cp := range vm.Checkpoints {
				order = append(order, cp.Name)
			}
			t.Errorf("%s order %q", name, order)
		}
	}
	noDuplicates(t, c)
}

// A base that is one VM's checkpoint (a template VM checkpointed before
// others were made from it) is a stem checkpoint of the others.
func TestBaseIsAnotherVMsCheckpoint(t *testing.T) {
	dir := chainDir(t, [][2]string{
		{"vm1/golden.vhdx", ""},
		{"vm1/golden_S1.avhdx", "vm1/golden.vhdx"},
		{"vm2/vm2.vhdx", "vm1/golden.vhdx"},
	})
	writeConfig(t, dir, "vm1/Virtual Machines/"+vm1ID+".xml", xmlConfigOf(vm1ID, "Template", vm1ID, vm1Snap, time.Time{}, "golden_S1.avhdx"))
	writeConfig(t, dir, "vm1/Snapshots/"+vm1Snap+".xml", xmlConfigOf(vm1ID, "Sealed", vm1Snap, "", time.Time{}, "golden.vhdx"))
	writeConfig(t, dir, "vm2/Virtual Machines/"+vm2ID+".xml", xmlConfigOf(vm2ID, "VM2", vm2ID, "", time.Time{}, "vm2.vhdx"))
	c := open(t, dir, Options{})
	if got := names(vmNamed(t, c, "Template")); got != "Now*<-Sealed Sealed" {
		t.Errorf("Template checkpoints %q", got)
	}
	if got := names(vmNamed(t, c, "VM2")); got != "Now*<-golden golden" {
		t.Errorf("VM2 checkpoints %q", got)
	}
	noDuplicates(t, c)
}

// Without configuration the lab is one disk tree, one VM, as before.
func TestSharedBaseNoConfig(t *testing.T) {
	c := open(t, labDir(t), Options{NoConfig: true})
	if len(c.VMs) != 1 || c.VMs[0].Name != "golden" || c.VMs[0].Config != "" {
		t.Fatalf("VMs %+v", c.VMs)
	}
	want := sortedWords("golden vm1<-golden vm1_S1<-vm1 vm1_old<-vm1 vm2<-golden stray<-golden " +
		"Now-vm1_S1*<-vm1_S1 Now-vm1_old*<-vm1_old Now-vm2*<-vm2 Now-stray*<-stray")
	if got := names(c.VMs[0]); got != want {
		t.Errorf("checkpoints\n got %q\nwant %q", got, want)
	}
	noDuplicates(t, c)
}

// Two disk files with one stem in a VM's chain: the child's stem
// checkpoint is told apart as " (2)", by name and by id, so either can
// be found.
func TestStemClash(t *testing.T) {
	dir := chainDir(t, [][2]string{
		{"base/golden.vhdx", ""},
		{"mid/golden.avhdx", "base/golden.vhdx"},
		{"vm/vm.avhdx", "mid/golden.avhdx"},
	})
	writeConfig(t, dir, "vm/Virtual Machines/"+vm1ID+".xml", xmlConfigOf(vm1ID, "VM1", vm1ID, "", time.Time{}, "vm.avhdx"))
	c := open(t, dir, Options{})
	vm := vmNamed(t, c, "VM1")
	if got := names(vm); got != "Now*<-golden (2) golden golden (2)<-golden" {
		t.Errorf("checkpoints %q", got)
	}
	for s, want := range map[string]string{"golden": "base", "golden (2)": "mid", "GOLDEN (2)": "mid"} {
		if cp, err := vm.Find(s); err != nil || filepath.Base(filepath.Dir(cp.Disks[0].File)) != want {
			t.Errorf("Find(%q) = %v, %v", s, cp, err)
		}
	}
	noDuplicates(t, c)
	c = open(t, dir, Options{NoConfig: true})
	if got := names(c.VMs[0]); got != "Now*<-vm golden golden (2)<-golden vm<-golden (2)" {
		t.Errorf("no configuration: checkpoints %q", got)
	}
	noDuplicates(t, c)
}
