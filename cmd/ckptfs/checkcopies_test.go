package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

// TestCheckDamagedCopies: check of a disk whose GPT backup header is
// damaged (testdata/guest's GPT disk in a VHDX) lists it as a problem
// naming the disk and the byte offset (exit 3), though every volume reads
// through the primary; the same disk undamaged is clean. Before, check
// said clean: reading never looked at the backup.
func TestCheckDamagedCopies(t *testing.T) {
	img, err := os.ReadFile(testutil.Fixture(t, "guest", "gpt.img"))
	if err != nil {
		t.Fatal(err)
	}
	last := int64(len(img)) - 512
	write := func(name string, b []byte) string {
		p := filepath.Join(t.TempDir(), name)
		w, err := vhdx.Create(p, vhdx.CreateOptions{VirtualSize: int64(len(b)), BlockSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteAt(b, 0); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if out, errs, code := ckptfs(t, "check", write("clean.vhdx", img)); code != exitOK {
		t.Fatalf("check of the disk as made: exit %d\n%s%s", code, out, errs)
	}
	bad := bytes.Clone(img)
	bad[last] = 'X'
	p := write("backup.vhdx", bad)
	out, errs, code := ckptfs(t, "check", p)
	want := fmt.Sprintf("disk backup: at byte 0x%x: backup GPT damaged: no GPT signature\n", last)
	if code != exitProblems || !strings.Contains(out, want) || strings.Count(out, "\n") != 1 {
		t.Errorf("check: exit %d, want one line with %q\n%s%s", code, want, out, errs)
	}
	out, _, _ = ckptfs(t, "check", "--json", p)
	var res struct {
		Clean    bool
		Problems []vhdx.Problem
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Clean || len(res.Problems) != 1 || res.Problems[0].Off != last {
		t.Errorf("check --json: %v %+v", err, res)
	}
}
