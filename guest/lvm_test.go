package guest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// lvmVGText is the volume group the LVM test restores with vgcfgrestore:
// "data" in two runs of the physical volume (extents 0-2 and 6-7), "root"
// in one (3-5), and "cache", a thin volume we cannot read. %s is the
// physical volume's uuid and device.
const lvmVGText = `contents = "Text Format Volume Group"
version = 1
testvg {
	id = "Q7ziDA-83PG-pFcz-hAul-L358-cxQq-p3vJ4T"
	seqno = 1
	format = "lvm2"
	status = ["RESIZEABLE", "READ", "WRITE"]
	flags = []
	extent_size = 2048 # 1 MiB
	max_lv = 0
	max_pv = 0
	metadata_copies = 0
	physical_volumes {
		pv0 {
			id = "%s"
			device = "%s"
			status = ["ALLOCATABLE"]
			flags = []
			dev_size = 49152
			pe_start = 2048
			pe_count = 23
		}
	}
	logical_volumes {
		data {
			id = "aaaaaa-bbbb-cccc-dddd-eeee-ffff-000001"
			status = ["READ", "WRITE", "VISIBLE"]
			flags = []
			segment_count = 2
			segment1 {
				start_extent = 0
				extent_count = 3
				type = "striped"
				stripe_count = 1
				stripes = [ "pv0", 0 ]
			}
			segment2 {
				start_extent = 3
				extent_count = 2
				type = "striped"
				stripe_count = 1
				stripes = [ "pv0", 6 ]
			}
		}
		root {
			id = "aaaaaa-bbbb-cccc-dddd-eeee-ffff-000002"
			status = ["READ", "WRITE", "VISIBLE"]
			flags = []
			segment_count = 1
			segment1 {
				start_extent = 0
				extent_count = 3
				type = "striped"
				stripe_count = 1
				stripes = [ "pv0", 3 ]
			}
		}
	}
}
`

// TestLVMVolumes makes a real LVM physical volume with the LVM tools
// (pvcreate, then vgcfgrestore of lvmVGText) on a loop device, asks lvs
// where each logical volume's extents lie, writes an ext4 filesystem into
// "data" and a FAT one into "root" there, and reads both back through
// Volumes, as a whole-disk physical volume and inside an MBR partition.
func TestLVMVolumes(t *testing.T) {
	for _, tool := range []string{"losetup", "pvcreate", "vgcfgrestore", "lvs", "mke2fs", "mkfs.fat", "mcopy"} {
		testutil.NeedTool(t, tool)
	}
	dir := t.TempDir()
	pvPath := filepath.Join(dir, "pv.img")
	if err := os.WriteFile(pvPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(pvPath, 24<<20); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "-f", "--show", pvPath).CombinedOutput()
	if err != nil {
		testutil.Unavailable(t, fmt.Sprintf("no loop device for the LVM tools: %v: %s", err, out))
	}
	loop := strings.TrimSpace(string(out))
	detached := false
	detach := func() {
		if !detached {
			detached = true
			exec.Command("losetup", "-d", loop).Run()
		}
	}
	defer detach()
	lvm := func(args ...string) string {
		t.Helper()
		// Only this loop device, and no backup files: a test running
		// at the same time may hold a group of the same name on its own.
		args = append(args, "--devices", loop, "--config", "devices { use_devicesfile=0 } backup { backup=0 archive=0 }")
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "LVM_SUPPRESS_FD_WARNINGS=1")
		b, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, ee.Stderr)
			}
			t.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
		return string(b)
	}
	const uuid = "hPZKcz-bVby-8h9P-qj5K-8y5e-XCk8-VtESZp"
	lvm("pvcreate", "-q", "-ff", "-y", "--uuid", uuid, "--norestorefile", loop)
	vgText := filepath.Join(dir, "vg.txt")
	if err := os.WriteFile(vgText, fmt.Appendf(nil, lvmVGText, uuid, loop), 0o644); err != nil {
		t.Fatal(err)
	}
	// vgcfgrestore warns that it cannot reach device-mapper to check for
	// active volumes; the metadata is written all the same.
	lvm("vgcfgrestore", "-q", "-f", vgText, "testvg")
	// Where lvs says each volume's extents are: "name lvStart count dev:first-last".
	type run struct{ lvOff, pvOff, n int64 }
	runs := map[string][]run{}
	for _, line := range strings.Split(strings.TrimSpace(lvm("lvs", "--noheadings", "--segments", "-o",
		"lv_name,seg_start_pe,seg_size_pe,seg_pe_ranges", "testvg")), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 {
			t.Fatalf("lvs line %q", line)
		}
		lvStart, _ := strconv.ParseInt(f[1], 10, 64)
		count, _ := strconv.ParseInt(f[2], 10, 64)
		first, _ := strconv.ParseInt(strings.SplitN(f[3][strings.LastIndex(f[3], ":")+1:], "-", 2)[0], 10, 64)
		runs[f[0]] = append(runs[f[0]], run{lvStart << 20, 1<<20 + first<<20, count << 20})
	}
	detach()
	if len(runs["data"]) != 2 || len(runs["root"]) != 1 {
		t.Fatalf("lvs segments: %+v", runs)
	}

	// Filesystems written where lvs put the volumes.
	tree := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 3<<20+333) // past the first run of "data" (3 MiB)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	if err := os.WriteFile(filepath.Join(tree, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	ext := filepath.Join(dir, "data.img")
	testutil.Run(t, "mke2fs", "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-d", tree, ext, "5M")
	fat := filepath.Join(dir, "root.img")
	testutil.Run(t, "mkfs.fat", "-C", "-n", "ROOTFAT", fat, "3072")
	hello := filepath.Join(dir, "hello.txt")
	os.WriteFile(hello, []byte("hello from root\n"), 0o644)
	testutil.Run(t, "mcopy", "-i", fat, hello, "::/hello.txt")
	pv, err := os.ReadFile(pvPath)
	if err != nil {
		t.Fatal(err)
	}
	for name, img := range map[string]string{"data": ext, "root": fat} {
		b, err := os.ReadFile(img)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs[name] {
			copy(pv[r.pvOff:r.pvOff+r.n], b[r.lvOff:min(r.lvOff+r.n, int64(len(b)))])
		}
	}

	check := func(t *testing.T, disk []byte, pvName string) {
		vols := volumesOfBytes(t, disk)
		byName := map[string]*Volume{}
		for _, v := range vols {
			byName[v.Name] = v
		}
		if v := byName[pvName]; v == nil || v.FSType != fsLVM2 || v.Err != nil {
			t.Fatalf("physical volume %s: %+v", pvName, v)
		}
		data, root := byName[pvName+"-testvg-data"], byName[pvName+"-testvg-root"]
		if data == nil || root == nil || data.FS == nil || root.FS == nil {
			t.Fatalf("logical volumes: %+v %+v", data, root)
		}
		if data.FSType != fsExt4 || !data.Remapped || data.Size != 5<<20 || root.FSType != fsFAT12 || root.Remapped || root.Label != "ROOTFAT" {
			t.Errorf("data %s remapped %v size %d; root %s remapped %v label %q",
				data.FSType, data.Remapped, data.Size, root.FSType, root.Remapped, root.Label)
		}
		if got, err := fs.ReadFile(data.FS, "big.bin"); err != nil || !bytes.Equal(got, big) {
			t.Errorf("big.bin through two runs: %d bytes, %v", len(got), err)
		}
		if got, err := fs.ReadFile(root.FS, "hello.txt"); err != nil || string(got) != "hello from root\n" {
			t.Errorf("hello.txt: %q, %v", got, err)
		}
	}
	t.Run("whole disk", func(t *testing.T) { check(t, pv, "h-vol") })
	t.Run("partition", func(t *testing.T) {
		disk := make([]byte, 1<<20+len(pv))
		putBootRecord(disk, 0, mbrEntry{0x8e, 2048, uint32(len(pv) / 512)})
		copy(disk[1<<20:], pv)
		check(t, disk, "h-p1")
	})
	// Ubuntu's and Fedora's encrypted installs: the physical volume
	// inside LUKS, encrypted by cryptsetup.
	t.Run("inside LUKS", func(t *testing.T) {
		testutil.NeedTool(t, "cryptsetup")
		img := filepath.Join(t.TempDir(), "luks.img")
		if err := os.WriteFile(img, pv, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(img, int64(len(pv))+16<<20); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("cryptsetup", "reencrypt", "--encrypt", "--batch-mode", "-q", "--type", "luks2",
			"--reduce-device-size", "16M", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--key-file", "-", img)
		cmd.Stdin = strings.NewReader("lvm inside")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cryptsetup: %v %s", err, b)
		}
		disk, err := os.ReadFile(img)
		if err != nil {
			t.Fatal(err)
		}
		vols, err := (&Options{Keys: []string{"password:lvm inside"}}).Volumes(bytes.NewReader(disk), int64(len(disk)), "h")
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]*Volume{}
		for _, v := range vols {
			byName[v.Name] = v
		}
		if v := byName["h-vol"]; v == nil || v.FSType != fsLVM2 || v.Encryption != "luks2" || v.Err != nil {
			t.Fatalf("physical volume: %+v", v)
		}
		data, root := byName["h-vol-testvg-data"], byName["h-vol-testvg-root"]
		if data == nil || root == nil || data.FS == nil || root.FS == nil || strings.Join(root.Layers, ",") != "luks" {
			t.Fatalf("logical volumes: %+v %+v", data, root)
		}
		if got, err := fs.ReadFile(data.FS, "big.bin"); err != nil || !bytes.Equal(got, big) {
			t.Errorf("big.bin: %d bytes, %v", len(got), err)
		}
		if got, err := fs.ReadFile(root.FS, "hello.txt"); err != nil || string(got) != "hello from root\n" {
			t.Errorf("hello.txt: %q, %v", got, err)
		}
	})
}

// makeLVMPV writes a physical volume of size bytes by hand: the label in
// sector 1, one metadata area from 4 KiB to dataStart holding text
// (wrapped around the end of the ring when wrap is set). No checksums:
// they guard against torn writes, which a read-only reader cannot mend.
func makeLVMPV(size, dataStart int, uuid, text string, wrap bool) []byte {
	b := make([]byte, size)
	l := b[512:1024]
	copy(l, lvmLabelID)
	binary.LittleEndian.PutUint64(l[8:], 1)
	binary.LittleEndian.PutUint32(l[20:], 32)
	copy(l[24:], lvmLabelTyp)
	pv := l[32:]
	copy(pv, strings.ReplaceAll(uuid, "-", ""))
	binary.LittleEndian.PutUint64(pv[32:], uint64(size))
	binary.LittleEndian.PutUint64(pv[40:], uint64(dataStart)) // data area, then the list's end
	binary.LittleEndian.PutUint64(pv[72:], 4096)              // metadata area
	binary.LittleEndian.PutUint64(pv[80:], uint64(dataStart-4096))
	mda, mdaSize := 4096, dataStart-4096
	h := b[mda:]
	copy(h[4:], lvmMDAMagic)
	binary.LittleEndian.PutUint32(h[20:], 1)
	binary.LittleEndian.PutUint64(h[24:], uint64(mda))
	binary.LittleEndian.PutUint64(h[32:], uint64(mdaSize))
	at := 512
	if wrap {
		at = mdaSize - len(text)/2
	}
	binary.LittleEndian.PutUint64(h[40:], uint64(at))
	binary.LittleEndian.PutUint64(h[48:], uint64(len(text)))
	first := copy(b[mda+at:mda+mdaSize], text)
	copy(b[mda+512:], text[first:])
	return b
}

// TestLVMHandMade reads hand-made physical volumes: metadata text that
// wraps around its ring, and damaged ones that must give a clear error.
func TestLVMHandMade(t *testing.T) {
	const uuid = "hPZKcz-bVby-8h9P-qj5K-8y5e-XCk8-VtESZp"
	text := fmt.Sprintf(lvmVGText, uuid, "/dev/sda")
	for _, wrap := range []bool{false, true} {
		disk := makeLVMPV(24<<20, 1<<20, uuid, text, wrap)
		vols := volumesOfBytes(t, disk)
		if len(vols) != 3 || vols[1].Name != "h-vol-testvg-data" || vols[1].Size != 5<<20 || vols[2].Start != 4<<20 {
			t.Errorf("wrap %v: %d volumes %+v", wrap, len(vols), vols)
		}
	}
	for _, c := range []struct {
		name, old, new, want string
	}{
		{"extent size", "extent_size = 2048", "extent_size = 0", "extent size 0"},
		{"unknown pv", `stripes = [ "pv0", 3 ]`, `stripes = [ "pv1", 3 ]`, "which the group does not list"},
		{"thin", `type = "striped"
				stripe_count = 1
				stripes = [ "pv0", 3 ]`, `type = "thin"`, `"thin" segment`},
		{"past the disk", `stripes = [ "pv0", 3 ]`, `stripes = [ "pv0", 30 ]`, "extents up to 33"},
		{"gap", "start_extent = 3", "start_extent = 4", "unmapped"},
		{"unclosed", "}\n}\n", "", "not closed"},
		{"not our pv", uuid, "AAAAAA-bVby-8h9P-qj5K-8y5e-XCk8-VtESZp", "does not list"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := strings.Replace(text, c.old, c.new, 1)
			if bad == text {
				t.Fatal("the patch changed nothing")
			}
			if c.name == "not our pv" {
				bad = strings.Replace(text, `id = "`+uuid, `id = "`+c.new, 1)
			}
			var msgs []string
			for _, v := range volumesOfBytes(t, makeLVMPV(24<<20, 1<<20, uuid, bad, false)) {
				if v.Err != nil {
					msgs = append(msgs, v.Err.Error())
				}
			}
			if !strings.Contains(strings.Join(msgs, "\n"), c.want) {
				t.Errorf("errors %q, want one saying %q", msgs, c.want)
			}
		})
	}
}

func FuzzLVMConfig(f *testing.F) {
	f.Add([]byte(fmt.Sprintf(lvmVGText, "x", "y")))
	f.Add([]byte(`a { b = [ "c", 1, -2 ] d { e = "f\"g" } } # h`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if cfg, err := parseLVMConfig(b); err == nil {
			_, _ = lvmGroupOf(cfg, "x")
		}
	})
}

// lvmFuzzSeed is a 96 KiB physical volume for FuzzVolumes: 4 KiB extents
// from 64 KiB, the volumes of lvmVGText (empty).
func lvmFuzzSeed() []byte {
	const uuid = "hPZKcz-bVby-8h9P-qj5K-8y5e-XCk8-VtESZp"
	text := strings.NewReplacer("extent_size = 2048", "extent_size = 8", "pe_start = 2048", "pe_start = 128").
		Replace(fmt.Sprintf(lvmVGText, uuid, "/dev/sda"))
	return makeLVMPV(96<<10, 64<<10, uuid, text, false)
}

// TestLVMNested reads physical volumes nested in each other's logical
// volumes: real setups nest one level (a guest's PV on a host's LV), a
// hostile disk could nest as deep as its size allows. Past maxLayerDepth
// levels the innermost is listed with an error instead of opened.
func TestLVMNested(t *testing.T) {
	const (
		uuid    = "hPZKcz-bVby-8h9P-qj5K-8y5e-XCk8-VtESZp"
		extent  = 4096 // extent_size = 8 sectors
		peStart = 8192 // pe_start = 16 sectors, after one metadata area
	)
	const vg = `nest {
	id = "Q7ziDA-83PG-pFcz-hAul-L358-cxQq-p3vJ4T"
	seqno = 1
	format = "lvm2"
	status = ["READ"]
	extent_size = 8
	physical_volumes {
		pv0 {
			id = "%s"
			device = "/dev/sda"
			dev_size = %d
			pe_start = 16
			pe_count = %d
		}
	}
	logical_volumes {
		n {
			id = "aaaaaa-bbbb-cccc-dddd-eeee-ffff-000001"
			status = ["READ", "VISIBLE"]
			segment_count = 1
			segment1 {
				start_extent = 0
				extent_count = %d
				type = "striped"
				stripe_count = 1
				stripes = [ "pv0", 1 ]
			}
		}
	}
}
`
	const levels = maxLayerDepth + 2
	size := (levels + 2) * (peStart + extent)
	disk := make([]byte, size)
	// Level k's PV starts where level k-1's LV does: extent 1 of its data.
	for k, at := 0, 0; k < levels; k, at = k+1, at+peStart+extent {
		pvSize := size - at
		count := (pvSize - peStart) / extent
		text := fmt.Sprintf(vg, uuid, pvSize/512, count, count-1)
		copy(disk[at:], makeLVMPV(pvSize, peStart, uuid, text, false)[:peStart])
	}
	vols := volumesOfBytes(t, disk)
	var opened, refused int
	for _, v := range vols {
		switch {
		case v.FSType == fsLVM2 && v.Err == nil:
			opened++
		case v.Err != nil && strings.Contains(v.Err.Error(), "nested"):
			refused++
		case v.Err != nil:
			t.Errorf("%s: %v", v.Name, v.Err)
		}
	}
	if opened != maxLayerDepth || refused != 1 {
		t.Errorf("%d physical volumes opened, %d refused, want %d and 1 (%d volumes)", opened, refused, maxLayerDepth, len(vols))
	}
}
