package guest

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestFAT32FewClusters opens a FAT32 volume with fewer than 65,525
// clusters, which mkfs.fat makes with a warning (a small EFI partition)
// and Linux and Windows open as FAT32 by its BPB, though the cluster-count
// rule of Microsoft's specification would call it FAT16. mtools will not
// write into one, so the files are written into a larger FAT32 and the
// volume is then cut below the threshold (the files sit in its first
// clusters); fsck.fat, which reads the BPB as the kernel does, lists them.
func TestFAT32FewClusters(t *testing.T) {
	testutil.NeedTool(t, "mkfs.fat")
	testutil.NeedTool(t, "fsck.fat")
	dir := t.TempDir()
	image := filepath.Join(dir, "esp.img")
	testutil.Run(t, "mkfs.fat", "-C", "-F", "32", "-s", "1", "-i", "00e5f32a", "-n", "ESP", "--invariant", image, "40960")
	want := map[string][]byte{
		"EFI/BOOT/BOOTX64.EFI": pseudoRandom(70_001, 1),
		"EFI/debian/grub.cfg":  []byte("search.fs_uuid 1234 root\n"),
		"startup.nsh":          pseudoRandom(513, 2),
	}
	mtools(t, image, "mmd", "::EFI", "::EFI/BOOT", "::EFI/debian")
	for name, data := range want {
		src := filepath.Join(dir, filepath.Base(name))
		if err := os.WriteFile(src, data, 0o644); err != nil {
			t.Fatal(err)
		}
		mtools(t, image, "mcopy", src, "::"+name)
	}

	// Cut the volume to 60,000 clusters: BPB_TotSec32 and the file.
	img, err := os.OpenFile(image, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	boot := make([]byte, 512)
	if _, err := img.ReadAt(boot, 0); err != nil {
		t.Fatal(err)
	}
	p := parseBPB(boot)
	meta := p.reserved + p.fats*p.fatSectors
	total := meta + 60_000*p.sectorsPerCluster
	binary.LittleEndian.PutUint32(boot[32:], total)
	if _, err := img.WriteAt(boot, 0); err != nil {
		t.Fatal(err)
	}
	if err := img.Truncate(int64(total) * 512); err != nil {
		t.Fatal(err)
	}
	img.Close()

	out, _ := exec.Command("fsck.fat", "-n", "-l", image).CombinedOutput()
	if !strings.Contains(string(out), "FAT32 according to fat_length") {
		t.Fatalf("fsck.fat does not see a FAT32 with too few clusters:\n%s", out)
	}
	for name := range want {
		if !strings.Contains(strings.ToUpper(string(out)), "/"+strings.ToUpper(name)) {
			t.Errorf("fsck.fat does not list %s:\n%s", name, out)
		}
	}

	f, err := os.Open(image)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vols, err := Volumes(f, int64(total)*512, "E")
	if err != nil || len(vols) != 1 {
		t.Fatalf("%v %+v", err, vols)
	}
	v := vols[0]
	if v.FSType != fsFAT32 || v.FS == nil {
		t.Fatalf("volume %s (%s): %v", v.Name, v.FSType, v.Err)
	}
	for name, data := range want {
		got, err := fs.ReadFile(v.FS, name)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: %d bytes, %v; want %d", name, len(got), err, len(data))
		}
	}
}
