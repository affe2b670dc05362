package merge

import (
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
