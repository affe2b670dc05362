package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

const diskSize = 8 << 20

// chainDir builds, in a temporary folder, base.vhdx with Hyper-V named
// children: the map gives each file's parent ("" for a base disk); files
// are made parents first.
func chainDir(t *testing.T, files [][2]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f[0]))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if f[1] == "" {
			makeBase(t, p, diskSize)
			continue
		}
		parent := filepath.Join(dir, filepath.FromSlash(f[1]))
		rel, err := filepath.Rel(filepath.Dir(p), parent)
		if err != nil {
			t.Fatal(err)
		}
		makeChild(t, parent, p, `.\`+strings.ReplaceAll(rel, "/", `\`), `C:\VMs\`+filepath.Base(parent), vhdx.GUID{})
	}
	return dir
}

func open(t *testing.T, src string, opt Options) *Catalog {
	t.Helper()
	c, err := Open(src, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// names lists "name<-parent" for every checkpoint, live ones marked "*".
func names(vm *VM) string {
	var s []string
	for _, c := range vm.Checkpoints {
		n := c.Name
		if c.Live {
			n += "*"
		}
		if c.Parent != nil {
			n += "<-" + c.Parent.Name
		}
		s = append(s, n)
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

const (
	snap1 = "web_11111111-2222-3333-4444-555555555555"
	snap2 = "web_66666666-7777-8888-9999-AAAAAAAAAAAA"
	snap3 = "web_BBBBBBBB-CCCC-DDDD-EEEE-FFFFFFFFFFFF"
)

func sortedWords(s string) string {
	w := strings.Fields(s)
	sort.Strings(w)
	return strings.Join(w, " ")
}

func TestOpenSingleFile(t *testing.T) {
	dir := chainDir(t, [][2]string{
		{"Virtual Hard Disks/web.vhdx", ""},
		{"Snapshots/" + snap1 + ".avhdx", "Virtual Hard Disks/web.vhdx"},
	})
	c := open(t, filepath.Join(dir, "Snapshots", snap1+".avhdx"), Options{})
	if len(c.VMs) != 1 || c.VMs[0].Name != "web" || c.VMs[0].Config != "" {
		t.Fatalf("VMs %+v", c.VMs)
	}
	vm := c.VMs[0]
	if got, want := names(vm), sortedWords("web "+snap1+"<-web Now*<-"+snap1); got != want {
		t.Errorf("checkpoints %q, want %q", got, want)
	}
	now, err := vm.Find("Now")
	if err != nil {
		t.Fatal(err)
	}
	if len(now.Disks) != 1 || now.Disks[0].Name != "Disk0" || stem(now.Disks[0].File) != snap1 {
		t.Fatalf("Now disks %+v", now.Disks)
	}
	ch := now.Disks[0].Chain
	if len(ch.Layers) != 2 || ch.Size() != diskSize {
		t.Errorf("chain of %d layers, size %d", len(ch.Layers), ch.Size())
	}
	base, _ := vm.Find("web")
	if base.Disks[0].Chain.Layers[0] != ch.Layers[1] {
		t.Error("layer opened twice")
	}
}

func TestOpenFolderNoConfig(t *testing.T) {
	dir := chainDir(t, [][2]string{
		{"web/web.vhdx", ""},
		{"web/" + snap1 + ".avhdx", "web/web.vhdx"},
		{"web/" + snap2 + ".avhdx", "web/" + snap1 + ".avhdx"},
		{"web/" + snap3 + ".avhdx", "web/web.vhdx"},
		{"db/DB.VHDX", ""},
	})
	c := open(t, dir, Options{})
	if len(c.VMs) != 2 {
		t.Fatalf("%d VMs", len(c.VMs))
	}
	var web, db *VM
	for _, vm := range c.VMs {
		switch vm.Name {
		case "web":
			web = vm
		case "DB":
			db = vm
		}
	}
	if web == nil || db == nil {
		t.Fatalf("VM names %q %q", c.VMs[0].Name, c.VMs[1].Name)
	}
	want := sortedWords(strings.Join([]string{
		"Now-" + snap2 + "*<-" + snap2, "Now-" + snap3 + "*<-" + snap3,
		snap1 + "<-web", snap2 + "<-" + snap1, snap3 + "<-web", "web"}, " "))
	if got := names(web); got != want {
		t.Errorf("web checkpoints\n got %q\nwant %q", got, want)
	}
	if got := names(db); got != "DB Now*<-DB" {
		t.Errorf("db checkpoints %q", got)
	}
	// Parents come before children.
	seen := map[*Checkpoint]bool{}
	for _, cp := range web.Checkpoints {
		if cp.Parent != nil && !seen[cp.Parent] {
			t.Errorf("%s listed before its parent", cp.Name)
		}
		seen[cp] = true
	}
	// Lookup by name, id, stem; across VMs.
	if _, cp, err := c.Find(strings.ToLower(snap2)); err != nil || cp.Name != snap2 {
		t.Errorf("Find by stem: %v %v", cp, err)
	}
	if _, cp, err := c.Find("db"); err != nil || cp.Name != "DB" || cp.Live {
		t.Errorf("Find by id: %v %v", cp, err)
	}
	// web has two leaves, so only DB has a plain "Now".
	if vm, _, err := c.Find("Now"); err != nil || vm != db {
		t.Errorf("Find(Now) = %v", err)
	}
	if _, err := web.Find("Now"); !errors.Is(err, ErrNotFound) {
		t.Errorf("web.Find(Now) = %v, want not found", err)
	}
	if vm, cp, err := c.Find("DB/Now"); err != nil || vm != db || !cp.Live {
		t.Errorf("Find(DB/Now): %v %v", cp, err)
	}
	if _, _, err := c.Find("nothing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find(nothing) = %v", err)
	}
}

func TestFindAmbiguous(t *testing.T) {
	dir := chainDir(t, [][2]string{{"a/x.vhdx", ""}, {"b/y.vhdx", ""}})
	c := open(t, dir, Options{})
	if _, _, err := c.Find("Now"); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("Find(Now) = %v, want ambiguous", err)
	}
	if vm, _, err := c.Find("y/Now"); err != nil || vm.Name != "y" {
		t.Errorf("Find(y/Now) = %v", err)
	}
}

func TestOpenWithSampleConfig(t *testing.T) {
	samples := testutil.Samples(t)
	cfg, err := os.ReadFile(filepath.Join(samples, "993F7B33-6057-4D1E-A1FE-A1A1D77BE974.vmcx"))
	if err != nil {
		t.Fatal(err)
	}
	dir := chainDir(t, [][2]string{
		{"Gen2/Virtual Hard Disks/Default Generation 2.vhdx", ""},
		{"Gen2/Virtual Hard Disks/Default Generation 2_" + snap1[4:] + ".avhdx", "Gen2/Virtual Hard Disks/Default Generation 2.vhdx"},
		{"loose.vhd" + "x", ""},
	})
	vmDir := filepath.Join(dir, "Gen2", "Virtual Machines")
	if err := os.MkdirAll(vmDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(vmDir, "993F7B33-6057-4D1E-A1FE-A1A1D77BE974.vmcx")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	// An unrelated XML file must not disturb the scan.
	os.WriteFile(filepath.Join(dir, "notes.xml"), []byte("<notes/>"), 0o644)
	c := open(t, dir, Options{})
	var gen2, loose *VM
	for _, vm := range c.VMs {
		switch vm.Name {
		case "Default Generation 2":
			gen2 = vm
		case "loose":
			loose = vm
		}
	}
	if gen2 == nil || loose == nil || len(c.VMs) != 2 {
		t.Fatalf("VMs: %d, warnings %q", len(c.VMs), c.Warnings)
	}
	if gen2.ID != "993F7B33-6057-4D1E-A1FE-A1A1D77BE974" || gen2.Config != cfgPath {
		t.Errorf("gen2 id %q config %q", gen2.ID, gen2.Config)
	}
	now, err := gen2.Find("Now")
	if err != nil {
		t.Fatal(err)
	}
	if len(now.Disks) != 1 || now.Disks[0].Name != "Disk0" || filepath.Base(now.Disks[0].File) != "Default Generation 2.vhdx" {
		t.Errorf("Now disks %+v", now.Disks[0])
	}
	// The avhdx the configuration does not name falls back to the stem rule.
	if _, err := gen2.Find("Default Generation 2_" + snap1[4:]); err != nil {
		t.Error(err)
	}
	if got := names(loose); got != "Now*<-loose loose" {
		t.Errorf("loose checkpoints %q", got)
	}
	// NoConfig ignores the configuration.
	c2 := open(t, dir, Options{NoConfig: true})
	for _, vm := range c2.VMs {
		if vm.Config != "" {
			t.Errorf("NoConfig VM %q config %q", vm.Name, vm.Config)
		}
	}
}

func TestOpenMissingParent(t *testing.T) {
	dir := chainDir(t, [][2]string{{"web.vhdx", ""}, {snap1 + ".avhdx", "web.vhdx"}})
	if err := os.Remove(filepath.Join(dir, "web.vhdx")); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{dir, filepath.Join(dir, snap1+".avhdx")} {
		_, err := Open(src, Options{})
		if !errors.Is(err, vhdx.ErrParent) || !strings.Contains(err.Error(), snap1) || !strings.Contains(err.Error(), "web.vhdx") {
			t.Errorf("Open(%s) = %v, want ErrParent naming both files", src, err)
		}
	}
}

func TestOpenLinkageMismatch(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "web.vhdx")
	makeBase(t, base, diskSize)
	child := filepath.Join(dir, snap1+".avhdx")
	makeChild(t, base, child, "", "", vhdx.NewGUID())
	if _, err := Open(child, Options{}); !errors.Is(err, vhdx.ErrParent) {
		t.Errorf("Open(child) = %v, want ErrParent", err)
	}
	// A folder is read as far as it can be: the base stays, the child is
	// left out with a warning that names it.
	c := open(t, dir, Options{})
	if len(c.VMs) != 1 || len(c.VMs[0].Checkpoints) != 2 || len(c.Warnings) != 1 ||
		!strings.Contains(c.Warnings[0], filepath.Base(child)) || !strings.Contains(c.Warnings[0], "DataWriteGuid") {
		t.Errorf("folder with a mismatched child: %+v, warnings %q", c.VMs, c.Warnings)
	}
	c = open(t, dir, Options{IgnoreLinkage: true})
	if len(c.VMs) != 1 || len(c.VMs[0].Checkpoints) != 3 || c.VMs[0].Name != "web" {
		t.Errorf("IgnoreLinkage: %+v", c.VMs)
	}
}

func TestOpenParentLoop(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.vhdx"), filepath.Join(dir, "b.avhdx")
	makeBase(t, a, diskSize)
	makeChild(t, a, b, "", "", vhdx.GUID{})
	a2 := filepath.Join(dir, "a2.tmp")
	makeChild(t, b, a2, "", "", vhdx.GUID{})
	if err := os.Rename(a2, a); err != nil {
		t.Fatal(err)
	}
	for _, opt := range []Options{{}, {IgnoreLinkage: true}} {
		if _, err := Open(dir, opt); !errors.Is(err, vhdx.ErrParent) {
			t.Errorf("Open(%+v) = %v, want ErrParent", opt, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrNoDisks) {
		t.Errorf("empty folder: %v", err)
	}
	bad := filepath.Join(dir, "bad.vhdx")
	os.WriteFile(bad, []byte("vhdxfile not really"), 0o644)
	if _, err := Open(dir, Options{}); !errors.Is(err, vhdx.ErrFormat) {
		t.Errorf("bad disk: %v", err)
	}
}

func TestOpenLinkedAndRelative(t *testing.T) {
	dir := chainDir(t, [][2]string{{"vm/web.vhdx", ""}, {"vm/" + snap1 + ".avhdx", "vm/web.vhdx"}})
	if err := os.Symlink(filepath.Join(dir, "vm", "web.vhdx"), filepath.Join(dir, "alias.vhdx")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	c := open(t, ".", Options{})
	if len(c.VMs) != 1 || len(c.VMs[0].Checkpoints) != 3 || c.VMs[0].Name != "web" {
		t.Fatalf("a linked file counted twice: %d VMs", len(c.VMs))
	}
	for _, cp := range c.VMs[0].Checkpoints {
		if !filepath.IsAbs(cp.Disks[0].File) {
			t.Errorf("relative disk path %q", cp.Disks[0].File)
		}
	}
}

// TestOpenFolderLeavesOutBrokenDisks: in a folder, a damaged disk and the
// checkpoints built on a disk whose parent is missing are left out with
// warnings; the other VMs are listed.
func TestOpenFolderLeavesOutBrokenDisks(t *testing.T) {
	dir := chainDir(t, [][2]string{{"web.vhdx", ""}, {snap1 + ".avhdx", "web.vhdx"}})
	os.WriteFile(filepath.Join(dir, "junk.vhdx"), []byte("vhdxfile not really"), 0o644)
	orphanDir := filepath.Join(dir, "db")
	os.Mkdir(orphanDir, 0o755)
	base := filepath.Join(orphanDir, "db.vhdx")
	makeBase(t, base, diskSize)
	makeChild(t, base, filepath.Join(orphanDir, "db_1.avhdx"), "", "", vhdx.GUID{})
	makeChild(t, filepath.Join(orphanDir, "db_1.avhdx"), filepath.Join(orphanDir, "db_2.avhdx"), "", "", vhdx.GUID{})
	os.Remove(base)
	c := open(t, dir, Options{})
	if len(c.VMs) != 1 || c.VMs[0].Name != "web" || len(c.VMs[0].Checkpoints) != 3 {
		t.Fatalf("VMs: %+v", c.VMs)
	}
	joined := strings.Join(c.Warnings, "\n")
	for _, want := range []string{"junk.vhdx", "db_1.avhdx", "db_2.avhdx"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no warning names %s:\n%s", want, joined)
		}
	}
}
