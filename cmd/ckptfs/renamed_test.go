package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRenamedParentCommands renames the base of a chain: ls, info and
// check of the folder and of the top file find it by the DataWriteGuid
// its child's linkage names, and ls and info say which file was taken.
func TestRenamedParentCommands(t *testing.T) {
	dir, files := smallChain(t)
	renamed := filepath.Join(dir, "evidence-0001.vhdx")
	if err := os.Rename(files[0], renamed); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{dir, files[2]} {
		out, errs, code := ckptfs(t, "ls", src)
		if code != exitOK || !strings.Contains(out, "warning: ") || !strings.Contains(out, "using "+renamed) || !strings.Contains(out, "(3 layers)") {
			t.Errorf("ls %s: exit %d %s\n%s", src, code, errs, out)
		}
		out, errs, code = ckptfs(t, "info", src)
		if code != exitOK || !strings.Contains(out, renamed+" (linkage") || !strings.Contains(out, "using "+renamed) {
			t.Errorf("info %s: exit %d %s\n%s", src, code, errs, out)
		}
		if src == files[2] && !strings.HasPrefix(out, files[2]+"\n") {
			t.Errorf("info of a disk file does not begin with it:\n%s", out)
		}
		if _, errs, code := ckptfs(t, "cat", src, "Now", "disks/Disk0.raw"); code != exitOK {
			t.Errorf("cat %s: exit %d %s", src, code, errs)
		}
	}
}
