package guest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// copyCase damages one redundant copy: CheckCopies must name it by its
// offset and the volumes must read as before.
type copyCase struct {
	what string
	mess func(b []byte)
	off  int64
	want string
}

func checkCopyCases(t *testing.T, orig []byte, cases []copyCase) {
	t.Helper()
	if p := CheckCopies(bytes.NewReader(orig), int64(len(orig))); len(p) != 0 {
		t.Errorf("as made: %+v", p)
	}
	want := readableNames(volumesOfBytes(t, orig))
	for _, c := range cases {
		b := bytes.Clone(orig)
		c.mess(b)
		p := CheckCopies(bytes.NewReader(b), int64(len(b)))
		found := false
		for _, q := range p {
			found = found || q.Off == c.off && strings.Contains(q.What, c.want)
		}
		if !found {
			t.Errorf("%s: no %q at byte %d: %+v", c.what, c.want, c.off, p)
		}
		if got := readableNames(volumesOfBytes(t, b)); got != want {
			t.Errorf("%s: volumes %s, want %s", c.what, got, want)
		}
	}
}

func readableNames(vols []*Volume) string {
	var s []string
	for _, v := range vols {
		if v.Err == nil {
			s = append(s, v.Name)
		}
	}
	return strings.Join(s, " ")
}

// gptFixCRCs recomputes a GPT header's array and header checksums.
func gptFixCRCs(b []byte, hdrOff int64) {
	h := b[hdrOff : hdrOff+512]
	array := int64(binary.LittleEndian.Uint64(h[72:])) * 512
	n := int64(binary.LittleEndian.Uint32(h[80:])) * int64(binary.LittleEndian.Uint32(h[84:]))
	binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(b[array:array+n]))
	binary.LittleEndian.PutUint32(h[16:], 0)
	binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:binary.LittleEndian.Uint32(h[12:])]))
}

// TestCheckCopiesGPT: testdata/guest's GPT disk (sgdisk) with its backup
// header, backup array or primary header damaged, a backup listing other
// partitions (its checksums right), and a hybrid MBR.
func TestCheckCopiesGPT(t *testing.T) {
	orig, err := os.ReadFile(testutil.Fixture(t, "guest", "gpt.img"))
	if err != nil {
		t.Fatal(err)
	}
	last := int64(len(orig)) - 512
	backupArray := int64(binary.LittleEndian.Uint64(orig[last+72:])) * 512
	checkCopyCases(t, orig, []copyCase{
		{"backup header's signature", func(b []byte) { b[last] = 'X' }, last, "backup GPT damaged"},
		{"backup array", func(b []byte) { b[backupArray+2*128+56] ^= 1 }, last, "backup GPT damaged"},
		{"primary header", func(b []byte) { b[512+20] ^= 1 }, 512, "primary GPT damaged"},
		{"backup naming partition 3 otherwise", func(b []byte) { b[backupArray+2*128+56] = 'N'; gptFixCRCs(b, last) },
			last, "lists other partitions"},
		{"hybrid MBR", func(b []byte) { b[446+16+4] = 0x07 }, 446, "hybrid MBR"},
		{"no protective entry", func(b []byte) { b[446+4] = 0x07 }, 446, "no protective"},
	})
}

// TestCheckCopiesLVM: testdata/guest/lvmcopies.sh's physical volume with
// two metadata areas (pvcreate --metadatacopies 2), one damaged or
// changed at a time. With the first damaged, its volume was left unread
// (only the first area was read); the second now stands in.
func TestCheckCopiesLVM(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.Unavailable(t, "lvmcopies.sh needs root (a loop device)")
	}
	for _, tool := range []string{"pvcreate", "vgcfgrestore", "pvs", "losetup"} {
		testutil.NeedTool(t, tool)
	}
	dir := t.TempDir()
	if out, err := exec.Command("bash", filepath.Join(testutil.RepoRoot(), "testdata", "guest", "lvmcopies.sh"), dir).CombinedOutput(); err != nil {
		t.Fatalf("lvmcopies.sh: %v\n%s", err, out)
	}
	orig, err := os.ReadFile(filepath.Join(dir, "pv.img"))
	if err != nil {
		t.Fatal(err)
	}
	if got := readableNames(volumesOfBytes(t, orig)); got != "h-vol h-vol-twice-data" {
		t.Fatalf("volumes %q", got)
	}
	const first, second = 4096, 15 << 20
	text := func(b []byte, mda int64) int64 { return mda + int64(binary.LittleEndian.Uint64(b[mda+40:])) }
	checkCopyCases(t, orig, []copyCase{
		{"second area's magic", func(b []byte) { b[second+4] = 'X' }, second, "metadata area 2 of 2 damaged"},
		{"first area's magic", func(b []byte) { b[first+4] = 'X' }, first, "metadata area 1 of 2 damaged"},
		{"second area's header checksum", func(b []byte) { b[second] ^= 1 }, second, "header checksum"},
		{"second area's text", func(b []byte) { b[text(b, second)+1] ^= 0x20 }, text(orig, second), "metadata text checksum"},
		{"second area's seqno", func(b []byte) {
			at := text(b, second)
			i := bytes.Index(b[at:at+4096], []byte("seqno = 3"))
			b[at+int64(i)+8] = '2'
		}, second, "holds other metadata"},
	})
}
