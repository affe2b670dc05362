//go:build linux

package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestCheckJournalReplayed: an ext volume frozen with transactions only
// its journal holds is clean, and check says the journal was replayed;
// with --no-recovery it says nothing of it (and it is no problem either,
// as it was asked for).
func TestCheckJournalReplayed(t *testing.T) {
	img, _ := testutil.FrozenExtImage(t, "v3")
	testutil.NeedTool(t, "qemu-img")
	disk := filepath.Join(t.TempDir(), "frozen.vhdx")
	testutil.Run(t, "qemu-img", "convert", "-O", "vhdx", img, disk)
	out, errs, code := ckptfs(t, "check", disk)
	if code != exitOK || !strings.Contains(out, "-vol (ext4): log replayed (") {
		t.Errorf("check: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = ckptfs(t, "check", "--no-recovery", disk)
	if code != exitOK || strings.Contains(out, "replayed") {
		t.Errorf("check --no-recovery: exit %d\n%s%s", code, out, errs)
	}
}
