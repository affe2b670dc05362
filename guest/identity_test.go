package guest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// blkidExport runs `blkid -p -o export` (low-level probe of the bytes,
// no cache) on img, at byte off when off > 0, and returns its fields.
func blkidExport(t *testing.T, img string, off int64) map[string]string {
	t.Helper()
	args := []string{"-p", "-o", "export"}
	if off > 0 {
		args = append(args, "-O", fmt.Sprint(off))
	}
	out, _ := exec.Command("blkid", append(args, img)...).Output() // exit 2: nothing found
	fields := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			fields[k] = v
		}
	}
	return fields
}

// checkIdentities compares every volume's Identity with what the tools
// say of the same bytes: the filesystem's UUID, label and swap type
// from blkid -p at the volume's offset (of an encrypted one, the LUKS
// header's UUID), a GPT partition's GUID and name
// from sfdisk --part-uuid / --part-label, an MBR partition's PARTUUID
// from blkid's PTUUID and the number (libblkid's rule, "%s-%02x"). It
// returns how many fields it compared.
func checkIdentities(t *testing.T, img string, vols []*Volume) int {
	t.Helper()
	testutil.NeedTool(t, "blkid")
	testutil.NeedTool(t, "sfdisk")
	n := 0
	disk := blkidExport(t, img, 0)
	for _, v := range vols {
		if v.IsShadow() || (v.Remapped && v.Encryption == "") || v.Reader == nil || v.FSType == fsLVM2 || v.FSType == fsUnknown {
			continue
		}
		id := v.Identity()
		b := blkidExport(t, img, v.Start)
		if v.Table == "none" {
			b = disk
		}
		if strings.HasPrefix(v.Encryption, "luks") {
			// blkid sees the LUKS header; the filesystem inside is
			// compared by the caller.
			if id.CryptUUID != b["UUID"] || b["TYPE"] != "crypto_LUKS" {
				t.Errorf("%s %s: LUKS UUID %q; blkid -p: UUID %q TYPE %q", img, v.Name, id.CryptUUID, b["UUID"], b["TYPE"])
			}
		} else if id.UUID != b["UUID"] || id.Label != b["LABEL"] {
			t.Errorf("%s %s: UUID %q label %q; blkid -p: UUID %q LABEL %q", img, v.Name, id.UUID, id.Label, b["UUID"], b["LABEL"])
		}
		if (v.FSType == fsSwap) != (b["TYPE"] == "swap") {
			t.Errorf("%s %s: FSType %s, blkid TYPE %s", img, v.Name, v.FSType, b["TYPE"])
		}
		n += 2
		switch {
		case id.VG != "":
			if id.PartUUID != "" {
				t.Errorf("%s %s: logical volume with PARTUUID %s", img, v.Name, id.PartUUID)
			}
		case v.Table == "gpt":
			u := strings.TrimSpace(string(testutil.Run(t, "sfdisk", "--part-uuid", img, fmt.Sprint(v.Number))))
			l := strings.TrimSpace(string(testutil.Run(t, "sfdisk", "--part-label", img, fmt.Sprint(v.Number))))
			if id.PartUUID != strings.ToLower(u) || id.PartLabel != l {
				t.Errorf("%s %s: PARTUUID %q PARTLABEL %q; sfdisk: %q %q", img, v.Name, id.PartUUID, id.PartLabel, u, l)
			}
			n += 2
		case v.Table == "mbr":
			if want := fmt.Sprintf("%s-%02x", disk["PTUUID"], v.Number); id.PartUUID != want {
				t.Errorf("%s %s: PARTUUID %q, blkid's PTUUID gives %q", img, v.Name, id.PartUUID, want)
			}
			n++
		}
	}
	return n
}

// TestIdentityGenerated checks the identities of gen.sh's volumes (FAT12,
// FAT16, FAT32, ext4, NTFS on GPT, MBR with logical partitions, and a
// bare FAT16) against blkid and sfdisk.
func TestIdentityGenerated(t *testing.T) {
	n := 0
	for _, img := range []string{"gpt.img", "mbr.img", "bare-fat16.img"} {
		n += checkIdentities(t, filepath.Join(imageDir(t), img), volumesOf(t, img))
	}
	t.Logf("%d fields agree with blkid/sfdisk", n)
}

// TestSwapHeader reads a swap area mkswap made, and one cut short.
func TestSwapHeader(t *testing.T) {
	testutil.NeedTool(t, "mkswap")
	img := filepath.Join(t.TempDir(), "swap.img")
	if err := os.WriteFile(img, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "mkswap", "-L", "swaplabel", "-U", "9a1c4f2e-5b6d-4e7f-8091-a2b3c4d5e6f7", img)
	b, _ := os.ReadFile(img)
	vols := volumesOfBytes(t, b)
	if len(vols) != 1 || vols[0].FSType != fsSwap || vols[0].Err != nil || vols[0].Label != "swaplabel" {
		t.Fatalf("swap volume: %+v", vols[0])
	}
	if n := checkIdentities(t, img, vols); n != 2 {
		t.Errorf("%d fields compared", n)
	}
	if u, l := swapHeader(b[:100]); u != "" || l != "" {
		t.Errorf("short header: %q %q", u, l)
	}
}

// TestIdentityKinds checks the filesystems the other tests do not lay
// out, and the UUIDs changed after mkfs (XFS and btrfs keep the first
// one in their metadata and show the new one), against blkid -p of
// each image.
func TestIdentityKinds(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, size int64, cmds ...[]string) string {
		img := filepath.Join(dir, name)
		if err := os.WriteFile(img, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(img, size); err != nil {
			t.Fatal(err)
		}
		for _, c := range cmds {
			testutil.NeedTool(t, c[0])
			testutil.Run(t, c[0], append(c[1:], img)...)
		}
		return img
	}
	imgs := []string{
		mk("ext2.img", 4<<20, []string{"mkfs.ext2", "-q", "-F", "-L", "two", "-U", "0b0e0c0a-2222-4222-8222-000000000002"}),
		mk("ext3.img", 8<<20, []string{"mkfs.ext3", "-q", "-F", "-L", "three", "-U", "0b0e0c0a-3333-4333-8333-000000000003"}),
		mk("fat32.img", 40<<20, []string{"mkfs.fat", "-F", "32", "-s", "1", "-n", "FAT32LBL", "-i", "0x00c0ffee"}),
		mk("xfs.img", 320<<20, []string{"mkfs.xfs", "-q", "-L", "xfslbl", "-m", "uuid=1a2b3c4d-0000-4000-8000-0000000000f1"},
			[]string{"xfs_admin", "-U", "1a2b3c4d-0000-4000-8000-0000000000f2"}),
		mk("btrfs.img", 128<<20, []string{"mkfs.btrfs", "-q", "-f", "-L", "bt", "-U", "1a2b3c4d-0000-4000-8000-0000000000b1"},
			[]string{"btrfstune", "-f", "-M", "1a2b3c4d-0000-4000-8000-0000000000b2"}),
		mk("swap-nolabel.img", 1<<20, []string{"mkswap", "-U", "1a2b3c4d-0000-4000-8000-00000000005a"}),
	}
	// The UUIDs set after mkfs are the ones shown.
	changed := map[string]string{"xfs.img": "1a2b3c4d-0000-4000-8000-0000000000f2", "btrfs.img": "1a2b3c4d-0000-4000-8000-0000000000b2"}
	n := 0
	for _, img := range imgs {
		f, err := os.Open(img)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		st, _ := f.Stat()
		vols, err := Volumes(f, st.Size(), "D")
		if err != nil || len(vols) != 1 || vols[0].Err != nil {
			t.Fatalf("%s: %v %+v", img, err, vols)
		}
		n += checkIdentities(t, img, vols)
		if u, ok := changed[filepath.Base(img)]; ok && vols[0].Identity().UUID != u {
			t.Errorf("%s: UUID %s, want %s", img, vols[0].Identity().UUID, u)
		}
	}
	if n != 2*len(imgs) {
		t.Errorf("%d fields compared", n)
	}
	t.Logf("%d fields agree with blkid", n)
}
