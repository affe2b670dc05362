package wimtest

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// RealCorpus writes two files like those Windows compresses most into dir:
// "code.exe", the first exeBytes of a Go toolchain binary (x86 code and
// data, as Windows' system files are), and "source.txt", the first
// textBytes of the toolchain's Go source, in name order. They depend only
// on the installed Go release. It skips (fails in CI) without the go
// command.
func RealCorpus(t testing.TB, dir string, exeBytes, textBytes int) {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT", "GOTOOLDIR").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		t.Fatalf("go env GOROOT GOTOOLDIR: %q", out)
	}
	root, tools := f[0], f[1]
	exe, err := os.ReadFile(filepath.Join(tools, "asm"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	err = filepath.WalkDir(filepath.Join(root, "src"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.HasSuffix(p, ".go") {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	var text []byte
	for _, n := range names {
		if len(text) >= textBytes {
			break
		}
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		text = append(text, b...)
	}
	files := map[string][]byte{
		"code.exe":   exe[:min(len(exe), exeBytes)],
		"source.txt": text[:min(len(text), textBytes)],
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
