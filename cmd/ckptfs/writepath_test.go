package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

func chainSHA(t *testing.T, file string) [32]byte {
	t.Helper()
	c, err := vhdx.OpenChain(file, vhdx.ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := sha256.New()
	io.Copy(h, io.NewSectionReader(c, 0, c.Size()))
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

func TestExportCommand(t *testing.T) {
	testutil.NeedTool(t, "qemu-img")
	dir, files := smallChain(t)
	out := filepath.Join(t.TempDir(), "x.vhdx")
	if _, errs, code := ckptfs(t, "export", dir, filepath.Base(strings.TrimSuffix(files[1], ".avhdx")), "-o", out, "--verify"); code != exitOK {
		t.Fatalf("export: %d %s", code, errs)
	}
	testutil.Run(t, "qemu-img", "check", out)
	if chainSHA(t, out) != chainSHA(t, files[1]) {
		t.Fatal("exported content differs")
	}
	if _, _, code := ckptfs(t, "export", dir, "Now", "-o", out); code != exitRefused {
		t.Fatalf("existing output: exit %d", code)
	}
	raw := filepath.Join(t.TempDir(), "x.raw")
	if _, errs, code := ckptfs(t, "export", dir, "Now", "-o", raw, "--format", "raw"); code != exitOK {
		t.Fatalf("raw export: %d %s", code, errs)
	}
	b, _ := os.ReadFile(raw)
	if sha256.Sum256(b) != chainSHA(t, files[2]) {
		t.Fatal("raw export differs")
	}
}

func TestMergeCommand(t *testing.T) {
	dir, files := smallChain(t)
	before := chainSHA(t, files[2])
	first := chainSHA(t, files[0])
	mid := filepath.Base(strings.TrimSuffix(files[1], ".avhdx"))
	if _, _, code := ckptfs(t, "merge", dir, "Now", "--yes"); code != exitRefused {
		t.Fatalf("merging the live state: exit %d", code)
	}
	out, _, code := ckptfs(t, "merge", dir, mid, "--dry-run")
	if code != exitOK || !strings.Contains(out, filepath.Base(files[1])) {
		t.Fatalf("dry run: %d %s", code, out)
	}
	if _, err := os.Stat(files[1]); err != nil {
		t.Fatal("dry run removed a file")
	}
	if _, errs, code := ckptfs(t, "merge", dir, mid, "--yes"); code != exitOK {
		t.Fatalf("merge: %d %s", code, errs)
	}
	if _, err := os.Stat(files[1]); !os.IsNotExist(err) {
		t.Fatal("merged file still there")
	}
	if chainSHA(t, files[2]) != before || chainSHA(t, files[0]) != first {
		t.Fatal("surviving checkpoints changed")
	}
	out, _, _ = ckptfs(t, "ls", dir)
	if strings.Contains(out, mid) || !bytes.Contains([]byte(out), []byte("Now")) {
		t.Fatalf("ls after merge:\n%s", out)
	}
}

// TestMergeYesJSONIsOneObject: with --yes --json, stdout is one JSON
// object (the report and its plan), with no text plan before it.
func TestMergeYesJSONIsOneObject(t *testing.T) {
	dir, files := smallChain(t)
	mid := filepath.Base(strings.TrimSuffix(files[1], ".avhdx"))
	out, errs, code := ckptfs(t, "merge", "--yes", "--json", dir, mid)
	var got struct {
		Changed []string
		Plan    struct{ Checkpoint string }
	}
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&got); code != exitOK || err != nil || dec.More() || got.Plan.Checkpoint == "" {
		t.Fatalf("exit %d, %v: stdout is not one JSON object with its plan:\n%s\n%s", code, err, out, errs)
	}
}
