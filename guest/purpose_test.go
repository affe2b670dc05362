package guest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/ldm"
)

// TestVolumePurposes lays out partitions that hold no filesystem with
// sgdisk and sfdisk, by the type codes their tools give them, and checks
// what each volume says it is for: a reserved or boot partition says so
// and is no error; a Storage Spaces or RAID member says its volumes are
// not read, as an ErrUnsupported error; an LDM partition of a disk with no
// LDM database says so (ldm.ErrNotLDM: testdata/ldm's dynamic disks are
// read in ldm_test.go).
func TestVolumePurposes(t *testing.T) {
	testutil.NeedTool(t, "sgdisk")
	testutil.NeedTool(t, "sfdisk")
	dir := t.TempDir()
	gpt := filepath.Join(dir, "gpt.img")
	if err := os.WriteFile(gpt, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(gpt, 16<<20); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "sgdisk",
		"-n1:2048:+1M", "-t1:0c01", // Microsoft reserved
		"-n2:0:+1M", "-t2:ef02", // BIOS boot
		"-n3:0:+1M", "-t3:4201", // LDM metadata
		"-n4:0:+2M", "-t4:4200", // LDM data
		"-n5:0:+2M", "-t5:4202", // Storage Spaces
		"-n6:0:+2M", "-t6:fd00", // Linux RAID
		"-n7:0:+1M", "-t7:2700", // Windows RE, not formatted
		"-n8:0:+1M", "-t8:a501", // FreeBSD boot: a type not in the table
		gpt)
	want := map[int]struct {
		purpose     string
		unsupported bool
	}{
		1: {"Microsoft reserved", false},
		2: {"BIOS boot", false},
		3: {purposeLDM, false},
		4: {purposeLDM, false},
		5: {purposeSpaces, true},
		6: {purposeMD, true},
		7: {"Windows recovery", false},
		8: {"", false},
	}
	checkPurposes(t, gpt, want)

	mbr := filepath.Join(dir, "mbr.img")
	if err := os.WriteFile(mbr, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(mbr, 8<<20); err != nil {
		t.Fatal(err)
	}
	sf := exec.Command("sfdisk", "-q", mbr)
	sf.Stdin = strings.NewReader("start=2048, size=4096, type=42\nsize=4096, type=fd\n")
	if out, err := sf.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v\n%s", err, out)
	}
	checkPurposes(t, mbr, map[int]struct {
		purpose     string
		unsupported bool
	}{1: {purposeLDM, false}, 2: {purposeMD, true}})
}

func checkPurposes(t *testing.T, image string, want map[int]struct {
	purpose     string
	unsupported bool
}) {
	t.Helper()
	f, err := os.Open(image)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	vols, err := Volumes(f, st.Size(), "Disk0")
	if err != nil {
		t.Fatal(err)
	}
	if len(vols) != len(want) {
		t.Fatalf("%s: %d volumes, want %d", image, len(vols), len(want))
	}
	for _, v := range vols {
		w := want[v.Number]
		if v.FSType != fsUnknown || v.Purpose != w.purpose {
			t.Errorf("%s (%s %s): purpose %q, want %q", v.Name, v.Table, v.PartType, v.Purpose, w.purpose)
		}
		if got := errors.Is(v.Err, ErrUnsupported); got != w.unsupported {
			t.Errorf("%s: error %v", v.Name, v.Err)
		}
		if w.purpose == purposeLDM && (!errors.Is(v.Err, ldm.ErrNotLDM) || !strings.Contains(v.Err.Error(), w.purpose)) {
			t.Errorf("%s: error %v, want one saying there is no LDM database", v.Name, v.Err)
		}
		if w.unsupported && !strings.Contains(v.Err.Error(), w.purpose) {
			t.Errorf("%s: error %q does not say what the volume is", v.Name, v.Err)
		}
	}
}

// TestVolumePurposeByContent: an md member and a ReFS volume are told by
// their first bytes whatever the partition type says (mdadm's 1.2
// superblock at 4 KiB, 1.1 at 0; ReFS's boot sector name).
func TestVolumePurposeByContent(t *testing.T) {
	basic := &Volume{Table: "gpt", PartType: "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"}
	probe := make([]byte, probeSize)
	if got := volumePurpose(basic, probe); got != "Microsoft basic data" {
		t.Errorf("zeros: %q", got)
	}
	for _, off := range []int{0, 4096} {
		p := make([]byte, probeSize)
		copy(p[off:], []byte{0xfc, 0x4e, 0x2b, 0xa9})
		if got := volumePurpose(basic, p); got != purposeMD {
			t.Errorf("md superblock at %d: %q", off, got)
		}
	}
	copy(probe[3:], "ReFS\x00\x00\x00\x00")
	if got := volumePurpose(basic, probe); got != purposeReFS || !errors.Is(purposeErr(got), ErrUnsupported) {
		t.Errorf("ReFS: %q", got)
	}
	if got := volumePurpose(&Volume{Table: "none"}, make([]byte, 10)); got != "" {
		t.Errorf("short probe: %q", got)
	}
}
