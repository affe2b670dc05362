package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCatFoldsCase reads NTFS paths as Windows would match them: in
// another case (exact names first) and the metadata files by name.
func TestCatFoldsCase(t *testing.T) {
	src := demoVM(t)
	for p, want := range map[string]string{
		"Disk0-p1/users/ALICE/NOTES.TXT":                 "call bob\nbuy milk\n",
		"Disk0-p1/Users/alice/notes.txt":                 "call bob\nbuy milk\n",
		"Disk0-p1/USERS/alice/notes.TXT:Zone.Identifier": "[ZoneTransfer] ZoneId=3",
		// Windows paths pasted as they are.
		`Disk0-p1\Users\alice\notes.txt`:                 "call bob\nbuy milk\n",
		`Disk0-p1/users\ALICE\NOTES.TXT`:                 "call bob\nbuy milk\n",
		`Disk0-p1\USERS\alice\notes.TXT:Zone.Identifier`: "[ZoneTransfer] ZoneId=3",
	} {
		if out, errs, code := ckptfs(t, "cat", src, "Now", p); code != exitOK || out != want {
			t.Errorf("cat %s: %d %q %s", p, code, out, errs)
		}
	}
	if out, errs, code := ckptfs(t, "cat", src, "Now", "Disk0-p1/$MFT"); code != exitOK || len(out) < 16*1024 || out[:4] != "FILE" {
		t.Errorf("cat $MFT: %d, %d bytes, %s", code, len(out), errs)
	}
	if _, _, code := ckptfs(t, "cat", src, "Now", "Disk0-p1/users/nobody"); code != exitNotFound {
		t.Errorf("missing path: exit %d", code)
	}
	if _, errs, code := ckptfs(t, "cat", src, "Now", `C:\Users\alice\notes.txt`); code != exitNotFound || !strings.Contains(errs, "drive letters") {
		t.Errorf("a drive letter: exit %d, %s", code, errs)
	}
	if _, errs, code := ckptfs(t, "cat", src, "Now", `Disk0-p1\Users\..\x`); code != exitUsage {
		t.Errorf("a Windows path with ..: exit %d, %s", code, errs)
	}
	dest := t.TempDir()
	if _, errs, code := ckptfs(t, "cp", src, "Now", "Disk0-p1/users/ALICE", dest); code != exitOK {
		t.Fatalf("cp: %d %s", code, errs)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "alice", "notes.txt")); err != nil || string(b) != "call bob\nbuy milk\n" {
		t.Errorf("cp of a miscased path: %q %v", b, err)
	}
}
