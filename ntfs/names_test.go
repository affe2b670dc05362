//go:build linux

package ntfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// namesImage builds the volume of testdata/ntfs/names.sh in a temporary
// directory.
func namesImage(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"mkntfs", "ntfs-3g", "setfattr"} {
		testutil.NeedTool(t, tool)
	}
	testutil.NeedFUSE(t)
	img := filepath.Join(t.TempDir(), "names.img")
	script := filepath.Join(testutil.RepoRoot(), "testdata", "ntfs", "names.sh")
	if out, err := exec.Command("bash", script, img).CombinedOutput(); err != nil {
		t.Fatalf("names.sh: %v\n%s", err, out)
	}
	return img
}

// TestShortAndFoldedNames resolves DOS 8.3 names (checked against
// ntfs-3g, which resolves them too) and case-insensitive paths.
func TestShortAndFoldedNames(t *testing.T) {
	img := namesImage(t)
	v, err := Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	mnt := t.TempDir()
	if out, err := exec.Command("ntfs-3g", "-o", "ro", img, mnt).CombinedOutput(); err != nil {
		t.Fatalf("ntfs-3g: %v\n%s", err, out)
	}
	defer exec.Command("fusermount", "-u", mnt).Run()

	right := 0
	for short, long := range map[string]string{
		"LONGFI~1.TXT":                   "Long File Name.txt",
		"PROGRA~1/Common Files/data.bin": "Program Files/Common Files/data.bin",
	} {
		a, err := v.Stat(short)
		b, err2 := v.Stat(long)
		if err != nil || err2 != nil || a.Sys().(*FileRecordInfo).Ref != b.Sys().(*FileRecordInfo).Ref {
			t.Errorf("%s: %v, %v", short, err, err2)
			continue
		}
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(mnt, short), &st); err != nil || st.Ino != b.Sys().(*FileRecordInfo).Ref.Record {
			t.Errorf("%s: ntfs-3g gives inode %d (%v), we give record %d", short, st.Ino, err, b.Sys().(*FileRecordInfo).Ref.Record)
			continue
		}
		if got, err := v.ResolveFold(short); err != nil || got != long {
			t.Errorf("ResolveFold(%s) = %q, %v; want %q", short, got, err, long)
			continue
		}
		right++
	}
	ents, err := v.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == "LONGFI~1.TXT" || e.Name() == "PROGRA~1" || e.Name()[0] == '$' {
			t.Errorf("%s is listed", e.Name())
		}
	}

	for ask, want := range map[string]string{
		"users/ALICE/notes.TXT":               "Users/alice/Notes.txt",
		"Users/alice/Notes.txt":               "Users/alice/Notes.txt",
		"case/abc":                            "case/abc", // exact first
		"case/ABC":                            "case/ABC",
		"ÉCOLE.TXT":                           "École.txt",
		"école.txt":                           "École.txt",
		"longfi~1.txt":                        "Long File Name.txt",
		"program files/COMMON FILES/DATA.BIN": "Program Files/Common Files/data.bin",
	} {
		got, err := v.ResolveFold(ask)
		if err != nil || got != want {
			t.Errorf("ResolveFold(%s) = %q, %v; want %q", ask, got, err, want)
			continue
		}
		right++
	}
	if got, err := v.ResolveFold("case/Abc"); err != nil || (got != "case/abc" && got != "case/ABC") {
		t.Errorf("ResolveFold(case/Abc) = %q, %v", got, err)
	}
	for _, miss := range []string{"users/bob", "Users/alice/Notes.txt/x", "nothing"} {
		if _, err := v.ResolveFold(miss); err == nil {
			t.Errorf("ResolveFold(%s) found something", miss)
		}
	}
	// Exact lookups stay exact.
	if _, err := v.Stat("users/alice/Notes.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("exact Stat of a miscased path: %v", err)
	}
	dir, _ := v.Stat("Users/alice")
	if fi, err := v.LookupFoldIn(dir.Sys().(*FileRecordInfo).Ref, "NOTES.TXT"); err != nil || fi.Size() != 6 {
		t.Errorf("LookupFoldIn: %v", err)
	}
	t.Logf("names right: %d", right)
}

// metafiles are the NTFS metadata files a forensic reader asks for by
// name: path, stream, and sleuthkit's address of the same data.
var metafiles = []struct{ path, stream, addr string }{
	{"$MFT", "", "0"},
	{"$MFTMirr", "", "1"},
	{"$LogFile", "", "2"},
	{"$Bitmap", "", "6"},
	{"$Boot", "", "7"},
	{"$UpCase", "", "10"},
	{"$Secure", "$SDS", "9-128-"},
}

// TestMetafiles reads the metadata files by name on the names volume and on
// the Windows-made samples and compares every byte with sleuthkit's icat.
func TestMetafiles(t *testing.T) {
	testutil.NeedTool(t, "icat")
	type vol struct {
		name   string
		img    string
		offset int64
	}
	vols := []vol{{"names", namesImage(t), 0}}
	for _, s := range []string{"ntfs-ptrn.raw.gz", "ntfs-lastaccess.raw.gz"} {
		p := filepath.Join(testutil.Samples(t), "windows", s)
		if _, err := os.Stat(p); err != nil {
			testutil.Unavailable(t, "sample "+s+" missing")
			continue
		}
		vols = append(vols, vol{s, testutil.UnpackSample(t, "windows/"+s), 128 * 512})
	}
	right := 0
	for _, vo := range vols {
		f, err := os.Open(vo.img)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		v, err := NewVolume(io.NewSectionReader(f, vo.offset, st.Size()-vo.offset), st.Size()-vo.offset)
		if err != nil {
			t.Fatalf("%s: %v", vo.name, err)
		}
		for _, m := range metafiles {
			file, err := v.OpenStream(m.path, m.stream)
			if err != nil {
				t.Errorf("%s %s:%s: %v", vo.name, m.path, m.stream, err)
				continue
			}
			got, err := io.ReadAll(io.NewSectionReader(file, 0, file.Size()))
			if err != nil {
				t.Errorf("%s %s: %v", vo.name, m.path, err)
				continue
			}
			addr := m.addr
			if m.stream != "" {
				addr += streamID(t, vo.img, vo.offset, m.path, m.stream)
			}
			want, err := exec.Command("icat", "-o", strconv.FormatInt(vo.offset/512, 10), vo.img, addr).Output()
			if err != nil {
				t.Errorf("%s: icat %s: %v", vo.name, addr, err)
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s %s:%s: %d bytes, icat %s %d bytes", vo.name, m.path, m.stream, len(got), addr, len(want))
				continue
			}
			right++
		}
		for _, p := range []string{"$Extend/$ObjId", "$Extend/$Reparse", "$Extend"} {
			if _, err := v.Stat(p); err != nil {
				t.Errorf("%s %s: %v", vo.name, p, err)
			}
		}
		if _, err := v.Stat("$Extend/$UsnJrnl"); err == nil {
			t.Logf("%s has a change journal", vo.name)
		}
		f.Close()
	}
	t.Logf("metafiles equal to icat: %d", right)
}

// streamID finds the attribute id of a named stream in fls's listing.
func streamID(t *testing.T, img string, off int64, file, stream string) string {
	out, err := exec.Command("fls", "-o", strconv.FormatInt(off/512, 10), img).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(out, []byte("\n")) {
		if i := bytes.Index(line, []byte("\t"+file+":"+stream)); i > 0 && len(line) == i+len(file)+len(stream)+2 {
			fields := bytes.Fields(line)
			addr := bytes.TrimSuffix(fields[1], []byte(":"))
			parts := bytes.Split(addr, []byte("-"))
			return string(parts[len(parts)-1])
		}
	}
	t.Fatalf("fls lists no %s:%s", file, stream)
	return ""
}
