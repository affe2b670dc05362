package ntfs

import (
	"bytes"
	"io/fs"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestAgainstSleuthkit checks names, MFT record numbers and streams against
// sleuthkit's fls, and file and stream content against icat.
func TestAgainstSleuthkit(t *testing.T) {
	testutil.NeedTool(t, "fls")
	testutil.NeedTool(t, "icat")
	img := image(t, "small")
	v := openImage(t, "small")

	files := map[string]uint64{}   // path -> record
	streams := map[string]string{} // path:stream -> icat address
	out := testutil.Run(t, "fls", "-r", "-p", img)
	for _, line := range strings.Split(string(out), "\n") {
		typ, rest, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(rest, "* ") || typ == "V/V" {
			continue // deleted entries and sleuthkit's virtual folders
		}
		addr, p, ok := strings.Cut(rest, ":\t")
		if !ok || strings.HasPrefix(p, "$") || strings.Contains(p, "/.:") {
			continue // metadata files; a directory's streams listed twice
		}
		if strings.Contains(p, ":") {
			streams[p] = addr
			continue
		}
		num, err := strconv.ParseUint(strings.SplitN(addr, "-", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("fls line %q: %v", line, err)
		}
		files[p] = num
	}

	seen := 0
	err := fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		seen++
		info, err := d.Info()
		if err != nil {
			return err
		}
		rec := info.Sys().(*FileRecordInfo)
		if want, ok := files[p]; !ok {
			t.Errorf("%s: not listed by fls", p)
		} else if want != rec.Ref.Record {
			t.Errorf("%s: record %d, fls %d", p, rec.Ref.Record, want)
		}
		for _, s := range rec.Streams {
			addr, ok := streams[p+":"+s.Name]
			if !ok {
				t.Errorf("%s: stream %q not listed by fls", p, s.Name)
				continue
			}
			compareIcat(t, v, img, p, s.Name, addr)
		}
		big := strings.HasPrefix(p, "bigdir/") || strings.HasPrefix(p, "manylinks/link-")
		// icat reads a WOF file's unnamed data: the hole, not the content.
		wof := rec.Reparse != nil && rec.Reparse.Tag == TagWOF
		if d.Type().IsRegular() && !big && !wof && rec.dataErr() == nil {
			compareIcat(t, v, img, p, "", strconv.FormatUint(rec.Ref.Record, 10))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(files) {
		t.Errorf("walked %d entries, fls lists %d", seen, len(files))
	}
}

// dataErr mirrors node.dataError for a FileRecordInfo.
func (fi *FileRecordInfo) dataErr() error {
	return (&node{info: fi}).dataError()
}

func compareIcat(t *testing.T, v *Volume, img, p, stream, addr string) {
	t.Helper()
	want, err := exec.Command("icat", img, addr).Output()
	if err != nil {
		t.Errorf("icat %s (%s:%s): %v", addr, p, stream, err)
		return
	}
	f, err := v.OpenStream(p, stream)
	if err != nil {
		t.Errorf("%s:%s: %v", p, stream, err)
		return
	}
	got := make([]byte, f.Size())
	if _, err := f.ReadAt(got, 0); err != nil && len(got) > 0 {
		t.Errorf("%s:%s: %v", p, stream, err)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s:%s: %d bytes differ from icat's %d", p, stream, len(got), len(want))
	}
}
