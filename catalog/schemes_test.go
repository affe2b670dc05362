package catalog

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// mirror is a Source the way an object store is one: names are URLs
// ("mirror://folder/file.vhdx") with "/" paths, files are plain ReaderAts
// (no descriptor for views or locks), identities are versions. It reads a
// local folder, so the test needs no server.
type mirror struct{ root string }

const mirrorScheme = "mirror://"

func (m mirror) local(name string) string {
	return filepath.Join(m.root, filepath.FromSlash(strings.TrimPrefix(name, mirrorScheme)))
}

func (m mirror) remote(local string) string {
	rel, _ := filepath.Rel(m.root, local)
	return mirrorScheme + filepath.ToSlash(rel)
}

func (m mirror) String() string { return "mirror of " + m.root }

func (m mirror) info(fi FileInfo) FileInfo {
	fi.Name = m.remote(fi.Name)
	fi.ID = Identity{Version: fmt.Sprintf("%d-%d", fi.ModTime.UnixNano(), fi.Size)}
	return fi
}

func (m mirror) Stat(name string) (FileInfo, error) {
	fi, err := Local{}.Stat(m.local(name))
	return m.info(fi), err
}

func (m mirror) ReadDir(name string) ([]FileInfo, error) {
	ents, err := Local{}.ReadDir(m.local(name))
	for i := range ents {
		ents[i] = m.info(ents[i])
	}
	return ents, err
}

type mirrorFile struct {
	r    File
	name string
	id   Identity
}

func (f *mirrorFile) ReadAt(p []byte, off int64) (int, error) { return f.r.ReadAt(p, off) }
func (f *mirrorFile) Close() error                            { return f.r.Close() }
func (f *mirrorFile) Name() string                            { return f.name }
func (f *mirrorFile) Size() int64                             { return f.r.Size() }
func (f *mirrorFile) Identity() Identity                      { return f.id }

func (m mirror) Open(name string) (File, error) {
	st, err := m.Stat(name)
	if err != nil {
		return nil, err
	}
	r, err := Local{}.Open(m.local(name))
	if err != nil {
		return nil, err
	}
	return &mirrorFile{r: r, name: name, id: st.ID}, nil
}

func (m mirror) Abs(name string) (string, error) {
	return mirrorScheme + strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(name, mirrorScheme)), "/"), nil
}

func (m mirror) Join(dir, rel string) string {
	return mirrorScheme + strings.TrimPrefix(path.Join("/"+strings.TrimPrefix(dir, mirrorScheme), rel), "/")
}

func (m mirror) Dir(name string) string {
	return mirrorScheme + strings.TrimPrefix(path.Dir("/"+strings.TrimPrefix(name, mirrorScheme)), "/")
}

var _ Source = mirror{}

// TestRegisteredSource reads a VM folder through a registered source
// whose names are URLs and whose files are bare ReaderAts, as an object
// store's will be: the scan, the parent search (relative locators across
// folders, a renamed parent found by identity), the tree and the content
// are those of the same folder read locally.
func TestRegisteredSource(t *testing.T) {
	dir := chainDir(t, [][2]string{
		{"Virtual Hard Disks/web.vhdx", ""},
		{"Snapshots/" + snap1 + ".avhdx", "Virtual Hard Disks/web.vhdx"},
		{"Snapshots/" + snap2 + ".avhdx", "Snapshots/" + snap1 + ".avhdx"},
	})
	if err := os.Rename(filepath.Join(dir, "Snapshots", snap1+".avhdx"), filepath.Join(dir, "Snapshots", "copy-of-1.avhdx")); err != nil {
		t.Fatal(err)
	}
	RegisterScheme("mirror", func(src string) (Source, error) { return mirror{root: dir}, nil })
	local := open(t, dir, Options{})
	remote := open(t, "mirror://", Options{})
	if got, want := names(remote.VMs[0]), names(local.VMs[0]); len(remote.VMs) != 1 || got != want {
		t.Fatalf("through the source: %q, locally %q", got, want)
	}
	if !hasWarning(remote, "using mirror://Snapshots/copy-of-1.avhdx") {
		t.Errorf("warnings %q", remote.Warnings)
	}
	for _, cp := range local.VMs[0].Checkpoints {
		rc, err := remote.VMs[0].Find(cp.ID)
		if err != nil {
			t.Fatal(err)
		}
		lc, rch := cp.Disks[0].Chain, rc.Disks[0].Chain
		if !strings.HasPrefix(rch.Layers[0].Name, mirrorScheme) || len(rch.Layers) != len(lc.Layers) {
			t.Fatalf("%s: layers %v", cp.Name, layerNames(rch.Layers))
		}
		a, _ := io.ReadAll(io.NewSectionReader(lc, 0, lc.Size()))
		b, _ := io.ReadAll(io.NewSectionReader(rch, 0, rch.Size()))
		if !bytes.Equal(a, b) {
			t.Errorf("%s reads other content through the source", cp.Name)
		}
	}
	release, err := remote.LockShared() // nothing to lock: versions are checked instead
	if err != nil {
		t.Fatal(err)
	}
	release()
}
