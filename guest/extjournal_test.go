//go:build linux

package guest

import (
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestExtJournalOptions opens an ext volume frozen with transactions only
// its journal holds: by default the journal is replayed (the file written
// last is there); with Options.NoRecovery the volume shows what was
// written back, and says so.
func TestExtJournalOptions(t *testing.T) {
	img, _ := testutil.FrozenExtImage(t, "v3")
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	for _, o := range []*Options{nil, {NoRecovery: true}} {
		vols, err := o.Volumes(f, st.Size(), "Disk0")
		if err != nil || len(vols) != 1 || vols[0].FS == nil {
			t.Fatalf("%+v: %v", vols, err)
		}
		v := vols[0]
		_, statErr := fs.Stat(v.FS, "late")
		if o == nil {
			if !strings.HasPrefix(v.Journal, "replayed (") || statErr != nil {
				t.Errorf("default: journal %q, late: %v", v.Journal, statErr)
			}
		} else if !strings.HasPrefix(v.Journal, "NOT replayed") || statErr == nil {
			t.Errorf("NoRecovery: journal %q, late: %v", v.Journal, statErr)
		}
	}
}
