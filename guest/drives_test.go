package guest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

func windowsDisks(t *testing.T) (gpt, mbr string) { return testutil.WindowsDisks(t) }

func TestDriveLetters(t *testing.T) {
	gpt, mbr := windowsDisks(t)
	for _, c := range []struct {
		img  string
		want map[string]string // volume name -> letter
	}{
		{gpt, map[string]string{"Disk0-p2": "C:", "Disk0-p3": "E:"}},
		{mbr, map[string]string{"Disk0-p1": "C:", "Disk0-p2": "D:"}},
	} {
		f, err := os.Open(c.img)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		vols, err := Volumes(f, st.Size(), "Disk0")
		if err != nil {
			t.Fatal(err)
		}
		letters := DriveLetters(vols)
		got := map[string]string{}
		for v, l := range letters {
			got[v.Name] = l
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: letters %v, want %v", filepath.Base(c.img), got, c.want)
		}
		for name, l := range c.want {
			if got[name] != l {
				t.Errorf("%s: %s is %q, want %q (all: %v)", filepath.Base(c.img), name, got[name], l, got)
			}
		}
		f.Close()
	}
	// No Windows, no letters: the generic GPT disk of the other tests.
	f, err := os.Open(testutil.Fixture(t, "guest", "gpt.img"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	vols, err := Volumes(f, st.Size(), "Disk0")
	if err != nil {
		t.Fatal(err)
	}
	if l := DriveLetters(vols); l != nil {
		t.Errorf("letters on a disk without Windows: %v", l)
	}
}
