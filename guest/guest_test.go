package guest

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// want describes a volume the generator made, as gen.sh says.
type want struct {
	name, fsType, label string
	hasFS               bool
}

var wantVolumes = map[string][]want{
	"gpt.img": {
		{"D-p1", fsFAT32, "GPTFAT", true},
		{"D-p2", fsExt4, "gptext4", true},
		{"D-p3", fsNTFS, "GPTNTFS", true},
	},
	"mbr.img": {
		{"D-p1", fsFAT12, "MBRFAT12", true},
		{"D-p2", fsUnknown, "", false}, // the extended container
		{"D-p5", fsFAT16, "MBRFAT16", true},
		{"D-p6", fsExt4, "mbrext4", true},
	},
	"bare-fat16.img": {{"D-vol", fsFAT16, "BAREFAT16", true}},
	"cd.iso":         {{"D-vol", fsISO9660, "CKPTISO", true}},
}

func volumesOf(t *testing.T, image string) []*Volume {
	t.Helper()
	f, size := openImage(t, image)
	vols, err := Volumes(f, size, "D")
	if err != nil {
		t.Fatalf("%s: %v", image, err)
	}
	return vols
}

func TestVolumeList(t *testing.T) {
	for image, wants := range wantVolumes {
		t.Run(image, func(t *testing.T) {
			vols := volumesOf(t, image)
			if len(vols) != len(wants) {
				t.Fatalf("%d volumes, want %d: %v", len(vols), len(wants), vols)
			}
			for i, w := range wants {
				v := vols[i]
				if v.Name != w.name || v.FSType != w.fsType || v.Label != w.label || (v.FS != nil) != w.hasFS {
					t.Errorf("volume %d: got %s %s %q fs=%v err=%v, want %+v", i, v.Name, v.FSType, v.Label, v.FS != nil, v.Err, w)
				}
				if w.hasFS && v.Err != nil {
					t.Errorf("%s: %v", v.Name, v.Err)
				}
			}
		})
	}
}

// TestLayoutAgainstSfdisk compares partition numbers, offsets, sizes, types
// and names with what sfdisk reads from the same images.
func TestLayoutAgainstSfdisk(t *testing.T) {
	testutil.NeedTool(t, "sfdisk")
	for _, image := range []string{"gpt.img", "mbr.img"} {
		t.Run(image, func(t *testing.T) {
			vols := volumesOf(t, image)
			path := filepath.Join(imageDir(t), image)
			var dump struct {
				PT struct {
					Label      string
					SectorSize int64
					Partitions []struct {
						Node        string
						Start, Size int64
						Type, Name  string
					}
				} `json:"partitiontable"`
			}
			if err := json.Unmarshal(testutil.Run(t, "sfdisk", "-J", path), &dump); err != nil {
				t.Fatal(err)
			}
			if len(dump.PT.Partitions) != len(vols) {
				t.Fatalf("sfdisk sees %d partitions, we see %d", len(dump.PT.Partitions), len(vols))
			}
			for i, p := range dump.PT.Partitions {
				v := vols[i]
				num, _ := strconv.Atoi(strings.TrimPrefix(p.Node, path))
				wantTable := map[string]string{"dos": "mbr", "gpt": "gpt"}[dump.PT.Label]
				wantType := p.Type
				if wantTable == "mbr" {
					n, _ := strconv.ParseUint(p.Type, 16, 8)
					wantType = fmt.Sprintf("0x%02x", n)
				}
				if v.Number != num || v.Start != p.Start*dump.PT.SectorSize || v.Table != wantTable ||
					v.PartType != wantType || v.PartName != p.Name {
					t.Errorf("partition %s: got #%d start %d size %d %s %s %q", p.Node, v.Number, v.Start, v.Size, v.Table, v.PartType, v.PartName)
				}
				// sfdisk shows an extended partition's size as in the table.
				if v.Size != p.Size*dump.PT.SectorSize {
					t.Errorf("partition %s: size %d, sfdisk %d", p.Node, v.Size, p.Size*dump.PT.SectorSize)
				}
			}
		})
	}
}

// extractor copies a volume's files into dir with an independent tool,
// keeping modification times.
type extractor func(t *testing.T, image string, off int64, dir string)

func extractMtools(t *testing.T, image string, off int64, dir string) {
	testutil.NeedTool(t, "mcopy")
	cmd := exec.Command("mcopy", "-s", "-m", "-n", "-i", fmt.Sprintf("%s@@%d", image, off), "::*", dir+"/")
	cmd.Env = append(os.Environ(), "TZ=UTC", "MTOOLS_SKIP_CHECK=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mcopy: %v\n%s", err, b)
	}
}

func extractDebugfs(t *testing.T, image string, off int64, dir string) {
	testutil.NeedTool(t, "debugfs")
	testutil.Run(t, "debugfs", "-R", "rdump / "+dir, fmt.Sprintf("%s?offset=%d", image, off))
}

func extractXorriso(t *testing.T, image string, off int64, dir string) {
	testutil.NeedTool(t, "xorriso")
	if off != 0 {
		t.Fatal("xorriso extraction needs a bare image")
	}
	testutil.Run(t, "xorriso", "-osirrox", "on", "-indev", image, "-extract", "/", dir)
}

var extractors = map[string]extractor{
	fsFAT12: extractMtools, fsFAT16: extractMtools, fsFAT32: extractMtools,
	fsExt4: extractDebugfs, fsISO9660: extractXorriso,
}

// TestFilesAgainstTools extracts every readable volume with mtools, debugfs
// or xorriso and compares names, sizes, content hashes and mtimes of all
// files with what our io/fs.FS reads.
func TestFilesAgainstTools(t *testing.T) {
	for image := range wantVolumes {
		for _, v := range volumesOf(t, image) {
			if v.FS == nil || v.FSType == fsNTFS { // tested in package ntfs
				continue
			}
			t.Run(image+"/"+v.Name, func(t *testing.T) {
				dir := t.TempDir()
				extractors[v.FSType](t, filepath.Join(imageDir(t), image), v.Start, dir)
				compareTree(t, v.FS, dir)
			})
		}
	}
}

func compareTree(t *testing.T, fsys fs.FS, dir string) {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		seen[rel] = true
		fi, err := fs.Lstat(fsys, rel)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		if fi.IsDir() != d.IsDir() {
			t.Errorf("%s: IsDir %v, tool says %v", rel, fi.IsDir(), d.IsDir())
			return nil
		}
		if d.IsDir() {
			return nil
		}
		hi, _ := d.Info()
		if fi.Size() != hi.Size() || !fi.ModTime().Equal(hi.ModTime()) {
			t.Errorf("%s: size %d mtime %v, tool says %d %v", rel, fi.Size(), fi.ModTime().UTC(), hi.Size(), hi.ModTime().UTC())
		}
		if got, want := hashFS(t, fsys, rel), hashHost(t, p); got != want {
			t.Errorf("%s: content hash differs", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing extra on our side.
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		if p != "." && !seen[p] {
			t.Errorf("%s: listed by us, not by the tool", p)
		}
		return nil
	})
	if len(seen) < 5 {
		t.Errorf("only %d entries compared", len(seen))
	}
}

func hashFS(t *testing.T, fsys fs.FS, name string) string {
	f, err := fsys.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, 1000)); err != nil { // odd size: crosses clusters
		t.Fatalf("%s: %v", name, err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func hashHost(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// TestKnownManifest checks what gen.sh wrote, independently of any tool:
// exact times (FAT keeps 2-second steps, so the script uses even seconds).
func TestKnownManifest(t *testing.T) {
	stamp := time.Date(2021, 3, 4, 5, 6, 8, 0, time.UTC)
	for image := range wantVolumes {
		for _, v := range volumesOf(t, image) {
			if v.FS == nil || v.FSType == fsNTFS { // gen.sh puts no files on NTFS
				continue
			}
			fi, err := fs.Stat(v.FS, "sub/numbers.txt")
			if err != nil || fi.Size() != 108894 || !fi.ModTime().Equal(time.Date(2020, 1, 2, 3, 4, 6, 0, time.UTC)) {
				t.Errorf("%s %s: numbers.txt %v %v", image, v.Name, fi, err)
			}
			b, err := fs.ReadFile(v.FS, "hello.txt")
			if string(b) != "hello, guest\n" || err != nil {
				t.Errorf("%s %s: hello.txt %q %v", image, v.Name, b, err)
			}
			fi, err = fs.Stat(v.FS, "sub/deep/x.txt")
			if err != nil || !fi.ModTime().Equal(stamp) {
				t.Errorf("%s %s: x.txt %v %v", image, v.Name, fi, err)
			}
			if _, err := fs.Stat(v.FS, "missing.txt"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s %s: missing file: %v", image, v.Name, err)
			}
			if err := fstest.TestFS(v.FS, "hello.txt", "sub/numbers.txt", "sub/deep/x.txt"); err != nil {
				t.Errorf("%s %s: %v", image, v.Name, err)
			}
		}
	}
}

// TestReadAt reads a multi-cluster file at scattered offsets and compares
// with a sequential read.
func TestReadAt(t *testing.T) {
	for _, v := range volumesOf(t, "mbr.img") {
		if v.FS == nil {
			continue
		}
		whole, err := fs.ReadFile(v.FS, "sub/numbers.txt")
		if err != nil {
			t.Fatal(err)
		}
		f, err := v.FS.Open("sub/numbers.txt")
		if err != nil {
			t.Fatal(err)
		}
		ra := f.(io.ReaderAt)
		for _, off := range []int64{0, 1, 511, 512, 4095, 4096, 65535, 100000, 108893} {
			buf := make([]byte, 3000)
			n, err := ra.ReadAt(buf, off)
			end := min(off+3000, int64(len(whole)))
			if string(buf[:n]) != string(whole[off:end]) || (end < off+3000) != (err == io.EOF) {
				t.Errorf("%s: ReadAt(%d) = %d, %v", v.Name, off, n, err)
			}
		}
		if n, err := ra.ReadAt(make([]byte, 1), 108894); n != 0 || err != io.EOF {
			t.Errorf("%s: ReadAt at end = %d, %v", v.Name, n, err)
		}
		f.Close()
	}
}
