package merge

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/vhdx"
)

// mkChild makes an empty differencing disk over parent.
func mkChild(t *testing.T, parent, name string) {
	t.Helper()
	d, err := vhdx.OpenDisk(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	w, err := vhdx.Create(name, vhdx.CreateOptions{Parent: d, ParentPath: parent})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// forceFold turns an Absorb step back into the usual direction, which
// is always safe, so tests can cover both on the same chain.
func (s *Step) forceFold() {
	if s.Absorb && !s.Resume {
		s.Absorb, s.CopyBytes, s.journal = false, s.FoldBytes, nil
		s.Why = "the test asks for this direction"
	}
}

// fileHashes hashes every file in dir except the named ones, so a test
// can tell that a merge left the other checkpoints' files alone.
func fileHashes(t testing.TB, dir string, except ...string) map[string][32]byte {
	t.Helper()
	skip := map[string]bool{}
	for _, e := range except {
		skip[filepath.Base(e)] = true
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][32]byte{}
	for _, e := range ents {
		if skip[e.Name()] || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = sha256.Sum256(b)
	}
	return out
}

func describeText(p *Plan) string {
	s, _ := p.Describe()
	return s
}
