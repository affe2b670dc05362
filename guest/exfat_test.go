//go:build linux

package guest

import (
	"bytes"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestExFATVolumes finds exFAT partitions on a GPT and an MBR disk and
// reads them through the contract: identity, metadata, extents, the
// Windows name matching, and every file against exfat-fuse's mount of the
// same image.
func TestExFATVolumes(t *testing.T) {
	for _, tc := range []struct{ table, variant string }{{"gpt", "c4k"}, {"mbr", "c512"}} {
		t.Run(tc.table, func(t *testing.T) {
			img := testutil.ExFATImage(t, tc.variant)
			f, err := os.Open(testutil.DiskWith(t, img, tc.table))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			vols, err := Volumes(f, st.Size(), "Disk0")
			if err != nil {
				t.Fatal(err)
			}
			if len(vols) != 1 || vols[0].FS == nil {
				t.Fatalf("volumes %+v", vols)
			}
			v := vols[0]
			if v.FSType != fsExFAT || v.Label != "CKPT-"+tc.variant || v.Identity().UUID != "1C2D-3E4F" {
				t.Errorf("%s %q %+v", v.FSType, v.Label, v.Identity())
			}
			// blkid, the names /etc/fstab and udev use.
			testutil.NeedTool(t, "blkid")
			blk := string(testutil.Run(t, "blkid", "-p", "-o", "export", img))
			for _, want := range []string{"TYPE=" + v.FSType, "UUID=" + v.Identity().UUID, "LABEL=" + v.Label} {
				if !strings.Contains(blk, want+"\n") {
					t.Errorf("blkid says\n%s, not %s", blk, want)
				}
			}
			checkExFATContract(t, v)
			compareWithFUSE(t, v.FS, testutil.ExFATFuseMount(t, img, "UTC"))
		})
	}
}

func checkExFATContract(t *testing.T, v *Volume) {
	fi, err := fs.Stat(v.FS, "frag/filler")
	if err != nil {
		t.Fatal(err)
	}
	m := MetaOf(fi)
	if !m.HasID || m.ID == 0 || m.Crtime.IsZero() || m.Atime.IsZero() || !m.HasAttrs || m.Attrs != 0x20 {
		t.Errorf("meta %+v", m)
	}
	f, err := v.FS.Open("frag/filler")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	exts, exact, err := f.(ExtentMapper).Extents()
	if err != nil || !exact || len(exts) < 2 {
		t.Fatalf("extents %v %v %v", exts, exact, err)
	}
	content, _ := fs.ReadFile(v.FS, "frag/filler")
	var got []byte
	for _, e := range exts {
		b := make([]byte, e.Len)
		if _, err := v.Reader.ReadAt(b, e.VolOff); err != nil {
			t.Fatal(err)
		}
		got = append(got, b...)
	}
	if !bytes.Equal(got, content) {
		t.Error("the extents read from the volume differ from the file")
	}
	fl := v.FS.(FoldLookuper)
	if p, err := fl.ResolveFold("NAMES/mixedcase.TXT"); err != nil || p != "names/MixedCase.TXT" {
		t.Errorf("ResolveFold: %q %v", p, err)
	}
	dir, _ := fs.Stat(v.FS, "names")
	if fi, err := fl.LookupFoldIn("names", dir, "CAFÉ DÉJÀ VU – ÆRØ.TXT"); err != nil || fi.Name() != "café déjà vu – Ærø.txt" {
		t.Errorf("LookupFoldIn: %v %v", fi, err)
	}
}

// compareWithFUSE compares every path, size and content of fsys with a
// mounted tree.
func compareWithFUSE(t *testing.T, fsys fs.FS, mnt string) {
	want := map[string]string{}
	_ = fs.WalkDir(os.DirFS(mnt), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(mnt + "/" + p)
			want[p] = string(b)
		}
		return err
	})
	n := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if w, ok := want[p]; err != nil || !ok || w != string(b) {
			t.Errorf("%s: %d bytes, %v; exfat-fuse has it: %v", p, len(b), err, ok)
		}
		n++
		return nil
	})
	if err != nil || n != len(want) || n < 1000 {
		t.Errorf("%d files here, %d through exfat-fuse: %v", n, len(want), err)
	}
}
