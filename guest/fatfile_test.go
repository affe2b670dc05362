package guest

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// mtools runs an mtools command on image with the environment the tests
// rely on, and returns its standard output.
func mtools(t testing.TB, image string, args ...string) []byte {
	t.Helper()
	testutil.NeedTool(t, args[0])
	cmd := exec.Command(args[0], append([]string{"-i", image}, args[1:]...)...)
	cmd.Env = append(os.Environ(), "TZ=UTC", "MTOOLS_SKIP_CHECK=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, stderr.Bytes())
	}
	return out
}

// pseudoRandom returns n reproducible bytes.
func pseudoRandom(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// makeFragmentedFAT builds a FAT16 volume (512-byte clusters) whose file
// big.bin fills the holes left by deleting every other small file, so its
// clusters are scattered over many runs. The recipe lives here rather than
// in gen.sh because only this test needs it.
func makeFragmentedFAT(t *testing.T) string {
	t.Helper()
	testutil.NeedTool(t, "mkfs.fat")
	dir := t.TempDir()
	image := filepath.Join(dir, "frag.img")
	testutil.Run(t, "mkfs.fat", "-C", "-F", "16", "-s", "1", "-i", "0000f4a6", "--invariant", image, "8192")
	var names []string
	for i := range 60 {
		name := fmt.Sprintf("s%02d.bin", i)
		// Sizes from 1 to 4 clusters, so the holes differ in length.
		if err := os.WriteFile(filepath.Join(dir, name), pseudoRandom(512*(1+i%4)-i, uint64(i)), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	for _, n := range names {
		mtools(t, image, "mcopy", filepath.Join(dir, n), "::"+n)
	}
	for i := 0; i < len(names); i += 2 {
		mtools(t, image, "mdel", "::"+names[i])
	}
	big := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(big, pseudoRandom(300_001, 99), 0o644); err != nil {
		t.Fatal(err)
	}
	mtools(t, image, "mcopy", big, "::big.bin")
	return image
}

// TestFragmentedFATReadAt reads a scattered FAT file at random offsets and
// compares with what mtype (mtools) prints for the whole file.
func TestFragmentedFATReadAt(t *testing.T) {
	image := makeFragmentedFAT(t)
	want := mtools(t, image, "mtype", "::big.bin")
	if len(want) != 300_001 {
		t.Fatalf("mtype gave %d bytes", len(want))
	}
	img, err := os.Open(image)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	st, _ := img.Stat()
	vols, err := Volumes(img, st.Size(), "F")
	if err != nil || len(vols) != 1 || vols[0].FS == nil {
		t.Fatalf("%v %+v", err, vols)
	}
	f, err := vols[0].FS.Open("big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if runs := len(f.(*file).data.(*fatData).runs); runs < 10 {
		t.Fatalf("big.bin lies in %d runs: the recipe did not fragment it", runs)
	}
	testutil.CheckReadAt(t, f.(io.ReaderAt), want, 500, 5000, 7)
	whole, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(whole, want) {
		t.Fatalf("sequential read: %d bytes, %v", len(whole), err)
	}
}

// benchFATImage builds (once) a FAT32 volume with 4 KiB clusters holding a
// 64 MiB file, under testdata/out/guest-bench.
func benchFATImage(b *testing.B) string {
	b.Helper()
	testutil.NeedTool(b, "mkfs.fat")
	dir := filepath.Join(testutil.RepoRoot(), "testdata", "out", "guest-bench")
	image := filepath.Join(dir, "fat32-64m.img")
	if _, err := os.Stat(image); err == nil {
		return image
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	src := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(src, pseudoRandom(64<<20, 1), 0o644); err != nil {
		b.Fatal(err)
	}
	tmp := image + ".tmp"
	_ = os.Remove(tmp)
	testutil.Run(b, "mkfs.fat", "-C", "-F", "32", "-s", "8", "-i", "0000be7c", "--invariant", tmp, fmt.Sprint(300<<10))
	mtools(b, tmp, "mcopy", src, "::big.bin")
	_ = os.Remove(src)
	if err := os.Rename(tmp, image); err != nil {
		b.Fatal(err)
	}
	return image
}

// BenchmarkFATRandomRead reads 4 KiB at random offsets of a 64 MiB FAT32
// file, as the FUSE layer does.
func BenchmarkFATRandomRead(b *testing.B) {
	image := benchFATImage(b)
	img, err := os.Open(image)
	if err != nil {
		b.Fatal(err)
	}
	defer img.Close()
	st, _ := img.Stat()
	vols, err := Volumes(img, st.Size(), "B")
	if err != nil || vols[0].FS == nil {
		b.Fatalf("%v %+v", err, vols[0])
	}
	f, err := vols[0].FS.Open("big.bin")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	ra := f.(io.ReaderAt)
	r := rand.New(rand.NewPCG(3, 3))
	buf := make([]byte, 4096)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := ra.ReadAt(buf, r.Int64N(64<<20-4096)); err != nil {
			b.Fatal(err)
		}
	}
}
