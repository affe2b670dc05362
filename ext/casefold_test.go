//go:build linux

package ext

import (
	"io/fs"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestCasefoldLookup looks up every name of an indexed case-insensitive
// folder. Its htree hashes the folded names, so a lookup that trusted the
// index with the name as stored would miss most of them.
func TestCasefoldLookup(t *testing.T) {
	for _, tool := range []string{"mke2fs", "debugfs", "e2fsck"} {
		testutil.NeedTool(t, tool)
	}
	img := filepath.Join(t.TempDir(), "casefold.img")
	script := filepath.Join(testutil.RepoRoot(), "testdata", "ext", "casefold.sh")
	if b, err := exec.Command("bash", script, img).CombinedOutput(); err != nil {
		t.Fatalf("casefold.sh: %v\n%s", err, b)
	}
	v := openImage(t, img)
	ents, err := v.ReadDir("folded")
	if err != nil || len(ents) != 300 {
		t.Fatalf("folded/ lists %d entries (%v)", len(ents), err)
	}
	// Fresh volume: no listing cached, so lookups go through the index.
	v = openImage(t, img)
	for i := 1; i <= 300; i++ {
		name := "folded/Mixed-Case-Entry-With-Long-Name-" + strconv.Itoa(i) + ".TXT"
		b, err := fs.ReadFile(v, name)
		if err != nil || string(b) != strconv.Itoa(i)+"\n" {
			t.Fatalf("%s: %q, %v", name, b, err)
		}
	}
}
