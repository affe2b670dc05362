package guest

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestFATCount reads FAT volumes whose BPB counts one FAT (mkfs.fat -f 1)
// or three, and FAT12/16 volumes of 1, 2 and 4 KiB sectors. go-diskfs
// took every volume for one of two FATs and read the root directory and
// the data area from where a second FAT's end would be: a one-FAT FAT16
// listed file contents as names (cross-check, FAT16 seed 2), and FAT32
// with one FAT was refused; FAT12/16 with sectors other than 512 bytes
// were refused though go-diskfs reads them.
func TestFATCount(t *testing.T) {
	testutil.NeedTool(t, "mkfs.fat")
	testutil.NeedTool(t, "mcopy")
	for _, tc := range []struct {
		bits, fats, sector, kib int
	}{
		{12, 1, 512, 2000}, {16, 1, 512, 20000}, {32, 1, 512, 70000}, {16, 3, 512, 20000}, {12, 3, 512, 2000},
		{12, 2, 1024, 4000}, {16, 2, 4096, 80000}, {16, 1, 2048, 40000}, {12, 1, 4096, 16000},
	} {
		t.Run(fmt.Sprintf("FAT%d-%dx-%d", tc.bits, tc.fats, tc.sector), func(t *testing.T) {
			dir := t.TempDir()
			image := filepath.Join(dir, "v.img")
			testutil.Run(t, "mkfs.fat", "-C", "-F", fmt.Sprint(tc.bits), "-f", fmt.Sprint(tc.fats), "-s", "1",
				"-S", fmt.Sprint(tc.sector), "-i", "1234abcd", "--invariant", image, fmt.Sprint(tc.kib))
			want := map[string][]byte{
				"top.bin":           pseudoRandom(5000, 1),
				"Sub dir/inner.txt": []byte("inside\n"),
			}
			mtools(t, image, "mmd", "::Sub dir")
			for name, data := range want {
				src := filepath.Join(dir, filepath.Base(name))
				if err := os.WriteFile(src, data, 0o644); err != nil {
					t.Fatal(err)
				}
				mtools(t, image, "mcopy", src, "::"+name)
			}
			f, err := os.Open(image)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			vols, err := Volumes(f, st.Size(), "F")
			if err != nil || len(vols) != 1 || vols[0].FS == nil {
				t.Fatalf("%v %+v", err, vols)
			}
			for name, data := range want {
				got, err := fs.ReadFile(vols[0].FS, name)
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("%s: %d bytes, %v; want %d", name, len(got), err, len(data))
				}
			}
			ents, err := fs.ReadDir(vols[0].FS, ".")
			if err != nil || len(ents) != 2 {
				t.Errorf("root: %d entries, %v; want 2", len(ents), err)
			}
		})
	}
}
