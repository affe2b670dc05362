//go:build linux

package ext

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestJournalReplay opens volumes frozen with committed transactions not
// yet written back (what a checkpoint of a running guest holds): every
// path reads as the kernel shows it after its own replay, and the same
// volume opened without recovery lacks what only the journal held.
func TestJournalReplay(t *testing.T) {
	for _, variant := range []string{"v3", "ext3", "v1csum", "wrap"} {
		t.Run(variant, func(t *testing.T) {
			img, replayed := testutil.FrozenExtImage(t, variant)
			v := openImage(t, img)
			j := v.Journal()
			if !j.NeedsRecovery || !j.Replayed || j.Transactions == 0 || j.Note != "" {
				t.Fatalf("journal %+v (%s)", j, j)
			}
			n := testutil.CompareWithKernel(t, v, kernelMount(t, replayed))
			t.Logf("%s, %d paths compared", j, n)

			f, err := os.Open(img)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			old, err := NewFSOptions(f, st.Size(), Options{NoRecovery: true})
			if err != nil {
				t.Fatal(err)
			}
			if s := old.Journal().String(); !strings.HasPrefix(s, "NOT replayed") {
				t.Errorf("without recovery the journal reads %q", s)
			}
			// In the wrapped journal the kernel wrote older transactions
			// home to make room while the script ran, how many depends on
			// timing: there internal/jbd2's block comparison shows the
			// replay matters. The others never fill their journal.
			if _, err := old.Stat("late"); variant != "wrap" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the unreplayed volume has the file only the journal held (%v): the fixture tests nothing", err)
			}
			if _, err := v.Stat("late"); err != nil {
				t.Error(err)
			}
		})
	}
}
