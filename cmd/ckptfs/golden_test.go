package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestInfoGolden dumps `ckptfs info --json` of every real sample made by
// Hyper-V, Windows and qemu and compares it with the checked-in dump, so a
// change in what ckptfs reads from them shows up in review.
func TestInfoGolden(t *testing.T) {
	for _, name := range []string{"dynamic.vhdx.gz", "fixed.vhdx.gz", "iotest-dirtylog-10G-4M.vhdx.bz2",
		"dynamic.vhd.gz", "fixed.vhd.gz", "hyperv2012r2-dynamic.vhd.bz2", "virtualpc-dynamic.vhd.bz2"} {
		t.Run(name, func(t *testing.T) {
			p := testutil.UnpackSample(t, name)
			out, errs, code := ckptfs(t, "info", "--json", p)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errs)
			}
			got := []byte(strings.ReplaceAll(out, filepath.Dir(p), "SAMPLES"))
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".bz2")+".json")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/ckptfs -run TestInfoGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("info --json differs from %s:\n%s", golden, got)
			}
		})
	}
}
