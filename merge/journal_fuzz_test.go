package merge

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ckptfs/ckptfs/vhdx"
)

// FuzzJournal feeds the journal parser damaged journals, seeded with
// journals the merge itself writes (both directions, both states). No
// panic; a journal it accepts survives a write and a re-read unchanged.
func FuzzJournal(f *testing.F) {
	dir := f.TempDir()
	rm := filepath.Join(dir, "web01.vhdx")
	for _, j := range []*journal{
		{Disk: "Disk0", Remove: rm, Into: filepath.Join(dir, "web01_A.avhdx"), NewParent: filepath.Join(dir, "base.vhdx")},
		{Disk: "Disk0", Remove: rm, Into: filepath.Join(dir, "web01_A.avhdx"), Direction: dirAbsorb,
			IntoID: vhdx.NewGUID().String(), IntoDisk: vhdx.NewGUID().String()},
		{Disk: "Disk1", Remove: rm, Into: filepath.Join(dir, "web01_B.avhdx"), Direction: dirAbsorb, State: stateCopied,
			IntoID: vhdx.NewGUID().String(), IntoDisk: vhdx.NewGUID().String()},
		{Disk: "Disk0", Remove: rm, Into: filepath.Join(dir, "web01_A.avhdx"), Checkpoint: "updated",
			Together: []string{"web01.vhdx", "../data/data01.vhdx"}},
	} {
		if err := writeJournal(j); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(journalPath(rm))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"version":1,"remove":"a","into":"b","direction":"absorb","into_data_write_guid":"{x}"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"version":1,"remove":"a","into":"b","together":["/abs",""]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := parseJournal(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseJournal(out)
		if err != nil {
			t.Fatalf("re-reading an accepted journal: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(j, again) {
			t.Fatalf("journal changed on a round trip:\n%+v\n%+v", j, again)
		}
	})
}
