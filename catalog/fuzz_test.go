package catalog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// addSamples seeds a fuzz target from the real configurations when they
// are present; they are never copied into the repository.
func addSamples(f *testing.F, names ...string) {
	dir := os.Getenv("CKPTFS_SAMPLES")
	if dir == "" {
		dir = filepath.Join(testutil.RepoRoot(), "..", "shared", "samples")
	}
	for _, n := range names {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
			f.Add(b)
		}
	}
}

func FuzzVMCX(f *testing.F) {
	addSamples(f, "test.vmcx", "993F7B33-6057-4D1E-A1FE-A1A1D77BE974.vmcx", "test.VMRS")
	f.Add(make([]byte, 0x3000))
	f.Fuzz(func(t *testing.T, b []byte) {
		root, err := ParseVMCX(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		_, _ = ExtractVMConfig(root, "x.vmcx")
	})
}

func FuzzVMXML(f *testing.F) {
	addSamples(f, "B90AC31B-C6F8-479F-9B91-07B894A6A3F6.xml")
	hostile, _ := filepath.Glob(filepath.Join("..", "testdata", "catalog", "hostile", "*.xml"))
	for _, p := range hostile {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`<configuration><properties><name type="string">a</name></properties></configuration>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		root, err := ParseVMXML(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		_, _ = ExtractVMConfig(root, "Snapshots/x.xml")
	})
}
