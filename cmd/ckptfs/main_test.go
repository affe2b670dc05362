package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/internal/errclass"
	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

// ckptfs runs the CLI in-process and returns stdout, stderr and the exit code.
func ckptfs(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errw bytes.Buffer
	code := run(args, &out, &errw)
	return out.String(), errw.String(), code
}

// smallChain writes a base disk and two children with Hyper-V names.
func smallChain(t *testing.T) (dir string, files []string) {
	t.Helper()
	dir = t.TempDir()
	var parent *vhdx.Disk
	for i, name := range []string{"srv.vhdx", "srv_8F1D2C3B-0000-4000-8000-000000000001.avhdx", "srv_8F1D2C3B-0000-4000-8000-000000000002.avhdx"} {
		p := filepath.Join(dir, name)
		opt := vhdx.CreateOptions{VirtualSize: 16 << 20, BlockSize: 1 << 20}
		if parent != nil {
			opt = vhdx.CreateOptions{Parent: parent}
		}
		w, err := vhdx.Create(p, opt)
		if err != nil {
			t.Fatal(err)
		}
		w.WriteAt(bytes.Repeat([]byte{byte(i + 1)}, 4096), int64(i)<<20)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if parent != nil {
			parent.Close()
		}
		if parent, err = vhdx.OpenDisk(p); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	parent.Close()
	return dir, files
}

func TestLsJSONShape(t *testing.T) {
	dir, files := smallChain(t)
	out, errs, code := ckptfs(t, "ls", "--json", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var v struct {
		VMs []struct {
			Name        string  `json:"name"`
			ID          string  `json:"id"`
			Config      *string `json:"config"`
			Checkpoints []struct {
				Name    string   `json:"name"`
				ID      string   `json:"id"`
				Created *string  `json:"created"`
				Parent  *string  `json:"parent"`
				Live    bool     `json:"live"`
				Disks   []string `json:"disks"`
				Sizes   []struct {
					File        string
					VirtualSize *int64 `json:"virtual_size"`
					FileSize    *int64 `json:"file_size"`
					Allocated   *int64 `json:"allocated"`
				} `json:"disk_sizes"`
			} `json:"checkpoints"`
		} `json:"vms"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(v.VMs) != 1 || v.VMs[0].Name != "srv" || v.VMs[0].Config != nil {
		t.Fatalf("vms: %+v", v.VMs)
	}
	cps := v.VMs[0].Checkpoints
	if len(cps) != 4 {
		t.Fatalf("checkpoints: %+v", cps)
	}
	if cps[0].Name != "srv" || cps[0].Parent != nil || cps[3].Name != "Now" || !cps[3].Live {
		t.Fatalf("tree: %+v", cps)
	}
	if cps[3].Disks[0] != files[2] || *cps[2].Parent != cps[1].ID {
		t.Fatalf("disks/parents: %+v", cps)
	}
	for _, c := range cps {
		st, err := os.Stat(c.Disks[0])
		if err != nil {
			t.Fatal(err)
		}
		s := c.Sizes[0]
		if len(c.Sizes) != 1 || s.File != c.Disks[0] || s.VirtualSize == nil || *s.VirtualSize != 16<<20 ||
			s.FileSize == nil || *s.FileSize != st.Size() || s.Allocated == nil || *s.Allocated <= 0 {
			t.Errorf("%s: disk sizes %+v (file is %d bytes)", c.Name, c.Sizes, st.Size())
		}
	}
}

func TestInfoAndCheck(t *testing.T) {
	_, files := smallChain(t)
	out, errs, code := ckptfs(t, "info", "--json", files[2])
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var info struct {
		Disks []diskJSON `json:"disks"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Disks) != 3 || info.Disks[0].Type != "differencing" || *info.Disks[0].Parent.File != files[1] ||
		info.Disks[2].Parent != nil || info.Disks[2].VirtualSize != 16<<20 {
		t.Fatalf("info: %+v", info.Disks)
	}
	if out, _, code := ckptfs(t, "check", files[2]); code != exitOK || !strings.Contains(out, "clean") {
		t.Fatalf("check clean: %d %s", code, out)
	}
	// Damage header 1 of the middle file: check lists it and exits 3.
	f, err := os.OpenFile(files[1], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xff}, 64<<10+300)
	f.Close()
	out, _, code = ckptfs(t, "check", files[2])
	if code != exitProblems || !strings.Contains(out, filepath.Base(files[1])) || !strings.Contains(out, "header 1") {
		t.Fatalf("check damaged: %d %s", code, out)
	}
}

func TestExitCodes(t *testing.T) {
	dir, files := smallChain(t)
	garbage := filepath.Join(t.TempDir(), "junk.vhdx")
	os.WriteFile(garbage, bytes.Repeat([]byte("not a disk"), 1000), 0o644)
	os.Remove(files[0])
	cases := []struct {
		args []string
		code int
	}{
		{[]string{}, exitUsage},
		{[]string{"nosuch"}, exitUsage},
		{[]string{"ls"}, exitUsage},
		{[]string{"ls", "/nonexistent/path"}, exitNotFound},
		{[]string{"info", garbage}, exitBadImage},
		{[]string{"info", files[2]}, exitChain},
		{[]string{"ls", "--bogus-flag", dir}, exitUsage},
	}
	for _, c := range cases {
		_, errs, code := ckptfs(t, c.args...)
		if code != c.code {
			t.Errorf("ckptfs %v: exit %d, want %d (%s)", c.args, code, c.code, errs)
		}
		if code != exitOK && code != exitUsage && strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("ckptfs %v: error is not one line: %q", c.args, errs)
		}
	}
}

var demoOnce sync.Once

// demoVM builds the demo VM folder (GPT + NTFS chain) once.
func demoVM(t *testing.T) string {
	t.Helper()
	testutil.NeedFUSE(t)
	for _, tool := range []string{"mkntfs", "ntfs-3g", "sgdisk", "setfattr"} {
		testutil.NeedTool(t, tool)
	}
	root := testutil.RepoRoot()
	out := filepath.Join(root, "testdata", "out", "cli-demo")
	demoOnce.Do(func() {
		defer testutil.LockFixtures(t)()
		mk := filepath.Join(t.TempDir(), "mkchain")
		testutil.Run(t, "go", "build", "-o", mk, filepath.Join(root, "tools", "mkchain"))
		cmd := exec.Command("bash", filepath.Join(root, "testdata", "demo", "gen.sh"), out)
		cmd.Env = append(os.Environ(), "MKCHAIN="+mk)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gen.sh: %v\n%s", err, b)
		}
	})
	return filepath.Join(out, "web01")
}

func TestCatAndCpFromCheckpoints(t *testing.T) {
	src := demoVM(t)
	out, errs, code := ckptfs(t, "cat", src, "web01", "Disk0-p1/Users/alice/notes.txt")
	if code != exitOK || out != "call bob\n" {
		t.Fatalf("cat first checkpoint: %d %q %s", code, out, errs)
	}
	out, _, _ = ckptfs(t, "cat", src, "Now", "Disk0-p1/Users/alice/notes.txt")
	if out != "call bob\nbuy milk\n" {
		t.Fatalf("cat Now: %q", out)
	}
	out, _, _ = ckptfs(t, "cat", src, "Now", "Disk0-p1/Users/alice/notes.txt:Zone.Identifier")
	if out != "[ZoneTransfer] ZoneId=3" {
		t.Fatalf("cat stream: %q", out)
	}
	if _, _, code := ckptfs(t, "cat", src, "Now", "Disk0-p1/Windows/System32/config.ini"); code != exitNotFound {
		t.Fatalf("deleted file: exit %d", code)
	}
	disk, _, _ := ckptfs(t, "cat", src, "Now", "disks/Disk0.raw")
	vol, errs, code := ckptfs(t, "cat", src, "Now", "volumes/Disk0-p1.raw")
	vols, err := guest.Volumes(strings.NewReader(disk), int64(len(disk)), "Disk0")
	if err != nil || len(vols) == 0 || vols[0].Name != "Disk0-p1" {
		t.Fatalf("volumes of the disk: %v %v", vols, err)
	}
	if p1 := vols[0]; code != exitOK || int64(len(vol)) != p1.Size || vol != disk[p1.Start:p1.Start+p1.Size] {
		t.Errorf("cat volumes/Disk0-p1.raw: exit %d, %d bytes, want the %d of the partition (%s)", code, len(vol), p1.Size, errs)
	}
	dest := t.TempDir()
	if _, errs, code := ckptfs(t, "cp", "--xattrs", src, "web01", "Disk0-p1/Users", dest); code != exitOK {
		t.Fatalf("cp: %d %s", code, errs)
	}
	st, err := os.Stat(filepath.Join(dest, "Users", "alice", "Documents", "report.docx"))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.ModTime().UTC().Format("2006-01-02 15:04:05"); got != "2026-11-20 10:00:00" {
		t.Errorf("mtime not kept: %s", got)
	}
	if st.Mode() != 0o644 { // not read-only in the guest: writable once restored
		t.Errorf("mode %v, want -rw-r--r--", st.Mode())
	}
	if b, err := exec.Command("getfattr", "--only-values", "-n", "user.Zone.Identifier",
		filepath.Join(dest, "Users", "alice", "notes.txt")).Output(); err != nil || string(b) != "[ZoneTransfer] ZoneId=3" {
		t.Errorf("stream xattr: %q %v", b, err)
	}
}

// TestCpKeepsExtModes copies a tree out of an ext4 volume: modes (with
// the set-uid bit), owners (as root), link targets with a backslash, and
// content come out as the guest had them.
func TestCpKeepsExtModes(t *testing.T) {
	testutil.NeedTool(t, "mke2fs")
	tree := t.TempDir()
	for name, mode := range map[string]os.FileMode{"run.sh": 0o755, "key": 0o600, "su": 0o755 | os.ModeSetuid} {
		p := filepath.Join(tree, name)
		if err := os.WriteFile(p, []byte(name), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	root := os.Geteuid() == 0
	if root {
		if err := os.Chown(filepath.Join(tree, "key"), 1234, 5678); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(`a\b`, filepath.Join(tree, "odd")); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "vm.img")
	testutil.Run(t, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, img, "8M")
	raw, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "vm.vhdx")
	w, err := vhdx.Create(src, vhdx.CreateOptions{VirtualSize: int64(len(raw)), BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt(raw, 0); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	if _, errs, code := ckptfs(t, "cp", src, "Now", "Disk0-vol/run.sh", "Disk0-vol/key", "Disk0-vol/su", "Disk0-vol/odd", dest); code != exitOK {
		t.Fatalf("cp: %d %s", code, errs)
	}
	for name, want := range map[string]os.FileMode{"run.sh": 0o755, "key": 0o600, "su": 0o755 | os.ModeSetuid} {
		st, err := os.Stat(filepath.Join(dest, name))
		if err != nil || st.Mode() != want {
			t.Errorf("%s: %v %v, want %v", name, st.Mode(), err, want)
		}
		if b, _ := os.ReadFile(filepath.Join(dest, name)); string(b) != name {
			t.Errorf("%s: %q", name, b)
		}
	}
	if st, err := os.Stat(filepath.Join(dest, "key")); root && (err != nil || st.Sys().(*syscall.Stat_t).Uid != 1234) {
		t.Errorf("key: owner not kept: %v", err)
	}
	if target, err := os.Readlink(filepath.Join(dest, "odd")); err != nil || target != `a\b` {
		t.Errorf("odd -> %q, %v", target, err)
	}
}

// TestSameFaultSameExitCode gives every command the same faulty input:
// each must exit with the one code internal/errclass gives the fault.
func TestSameFaultSameExitCode(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("hello\n"), 0o644)
	garbage := filepath.Join(dir, "junk.vhdx")
	os.WriteFile(garbage, bytes.Repeat([]byte("not a disk"), 1000), 0o644)
	out := filepath.Join(dir, "out.raw")
	for _, src := range []string{text, garbage} {
		for _, args := range [][]string{
			{"ls", src}, {"info", src}, {"check", src}, {"cat", src, "Now", "x"},
			{"cp", src, "Now", "x", dir}, {"export", src, "Now", "-o", out, "--format", "raw"},
			{"diff", src, "a", "b"},
		} {
			if _, errs, code := ckptfs(t, args...); code != exitBadImage {
				t.Errorf("ckptfs %v: exit %d, want %d (%s)", args, code, exitBadImage, errs)
			}
		}
	}
	for c, want := range map[int]errclass.Class{exitFailure: errclass.Failure, exitUsage: errclass.Usage,
		exitBadImage: errclass.BadImage, exitChain: errclass.Chain, exitNotFound: errclass.NotFound,
		exitUnsupported: errclass.Unsupported, exitRefused: errclass.Refused, exitInterrupted: errclass.Interrupted} {
		if c != int(want) {
			t.Errorf("exit code %d differs from class %v (%d)", c, want, want)
		}
	}
}

// A VHD whose footer checksum is wrong is refused with the flag named,
// read with --ignore-checksums, and still reported by check.
func TestIgnoreChecksums(t *testing.T) {
	testutil.NeedTool(t, "qemu-img")
	dir := t.TempDir()
	img := filepath.Join(dir, "bad.vhd")
	testutil.Run(t, "qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=fixed", img, "1M")
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	f.WriteAt([]byte{0xde, 0xad}, st.Size()-512+64) // the footer's checksum field
	f.Close()
	if _, errs, code := ckptfs(t, "ls", img); code != exitBadImage || !strings.Contains(errs, "--ignore-checksums") {
		t.Errorf("strict ls: exit %d, %q", code, errs)
	}
	if out, errs, code := ckptfs(t, "ls", "--ignore-checksums", img); code != exitOK {
		t.Errorf("ls --ignore-checksums: exit %d, %q %q", code, out, errs)
	}
	if out, _, code := ckptfs(t, "check", "--ignore-checksums", img); code != exitProblems || !strings.Contains(out, "checksum") {
		t.Errorf("check --ignore-checksums: exit %d, %q", code, out)
	}
	if _, _, code := ckptfs(t, "merge", "--ignore-checksums", img, "bad"); code != exitRefused {
		t.Errorf("merge --ignore-checksums: exit %d", code)
	}
}

// TestUnknownCommandAndDotDot: an unknown command is one line, not the
// whole usage; a guest path with "." or ".." is a bad path (exit 2) that
// says so.
func TestUnknownCommandAndDotDot(t *testing.T) {
	_, errs, code := ckptfs(t, "frobnicate\x1b[2J")
	if code != exitUsage || strings.Count(errs, "\n") != 1 || strings.Contains(errs, "\x1b") {
		t.Errorf("unknown command: exit %d, %q", code, errs)
	}
	_, files := smallChain(t)
	for _, p := range []string{"Disk0-vol/../../x", "Disk0-vol/./x", "../etc/passwd"} {
		_, errs, code := ckptfs(t, "cat", files[2], "Now", p)
		if code != exitUsage || !strings.Contains(errs, `".." are not allowed`) {
			t.Errorf("cat %s: exit %d, %s", p, code, errs)
		}
	}
}

// TestConfigOnlyFolder: a folder with a VM configuration and no disk says
// which VM it found and which disks it expects.
func TestConfigOnlyFolder(t *testing.T) {
	samples := testutil.Samples(t)
	cfg, err := os.ReadFile(filepath.Join(samples, "993F7B33-6057-4D1E-A1FE-A1A1D77BE974.vmcx"))
	if err != nil {
		testutil.Unavailable(t, "sample VM configuration: "+err.Error())
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "Virtual Machines"), 0o755)
	os.WriteFile(filepath.Join(dir, "Virtual Machines", "993F7B33-6057-4D1E-A1FE-A1A1D77BE974.vmcx"), cfg, 0o644)
	_, errs, code := ckptfs(t, "ls", dir)
	if code != exitNotFound || !strings.Contains(errs, `VM "Default Generation 2"`) || !strings.Contains(errs, `Default Generation 2.vhdx`) {
		t.Errorf("exit %d: %s", code, errs)
	}
}
