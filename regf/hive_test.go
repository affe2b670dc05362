package regf

import (
	"bytes"
	"encoding/binary"
	"github.com/ckptfs/ckptfs/internal/regftest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func minimalHive() []byte { return regftest.MinimalHive() }

func putChecksum(b []byte) { regftest.PutChecksum(b) }

func TestMinimalHive(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hive")
	if err := os.WriteFile(p, minimalHive(), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	root, err := h.Root()
	if err != nil || root.Name != "ROOT" {
		t.Fatalf("root %v, %v", root, err)
	}
	if ks, err := root.Subkeys(); err != nil || len(ks) != 0 {
		t.Errorf("subkeys %v, %v", ks, err)
	}
}

// hiveWithBigValue is minimalHive with a second bin holding a value of
// the root key of n bytes in a big data record ("db") of segments of
// 16,344 bytes, as Windows stores values past that size.
func hiveWithBigValue(n int) (hive, data []byte) {
	le := binary.LittleEndian
	data = make([]byte, n)
	for i := range data {
		data[i] = byte(i*7 + i>>8)
	}
	segs := (n + bigDataMin - 1) / bigDataMin
	var cells []byte
	base := uint32(4096) // the new bin's offset
	add := func(body []byte) uint32 {
		off := base + 32 + uint32(len(cells))
		size := (len(body) + 4 + 7) &^ 7
		c := make([]byte, size)
		le.PutUint32(c, uint32(-int32(size)))
		copy(c[4:], body)
		cells = append(cells, c...)
		return off
	}
	var segOffs []uint32
	for i := range segs {
		segOffs = append(segOffs, add(data[i*bigDataMin:min(n, (i+1)*bigDataMin)]))
	}
	list := make([]byte, 4*segs)
	for i, o := range segOffs {
		le.PutUint32(list[4*i:], o)
	}
	listOff := add(list)
	db := make([]byte, 8)
	copy(db, "db")
	le.PutUint16(db[2:], uint16(segs))
	le.PutUint32(db[4:], listOff)
	dbOff := add(db)
	vk := make([]byte, 20+3)
	copy(vk, "vk")
	le.PutUint16(vk[2:], 3)
	le.PutUint32(vk[4:], uint32(n))
	le.PutUint32(vk[8:], dbOff)
	le.PutUint32(vk[12:], uint32(TypeBinary))
	le.PutUint16(vk[16:], valueCompName)
	copy(vk[20:], "Big")
	vkOff := add(vk)
	vl := make([]byte, 4)
	le.PutUint32(vl, vkOff)
	vlOff := add(vl)
	binSize := (32 + len(cells) + 4095) &^ 4095
	bin := make([]byte, binSize)
	copy(bin, "hbin")
	le.PutUint32(bin[4:], base)
	le.PutUint32(bin[8:], uint32(binSize))
	copy(bin[32:], cells)
	if rest := binSize - 32 - len(cells); rest > 0 {
		le.PutUint32(bin[32+len(cells):], uint32(rest)) // one free cell
	}
	hive = append(minimalHive(), bin...)
	le.PutUint32(hive[40:], uint32(4096+binSize))
	putChecksum(hive)
	root := hive[4096+0x20+4:]
	le.PutUint32(root[36:], 1)
	le.PutUint32(root[40:], vlOff)
	return hive, data
}

func TestBigValue(t *testing.T) {
	hive, data := hiveWithBigValue(40000)
	h, err := NewHive(bytes.NewReader(hive), int64(len(hive)))
	if err != nil {
		t.Fatal(err)
	}
	root, err := h.Root()
	if err != nil {
		t.Fatal(err)
	}
	v, err := root.Value("big")
	if err != nil || !bytes.Equal(v.Data, data) {
		t.Fatalf("big value: %d bytes, %v", len(v.Data), err)
	}
	if p, err := exec.LookPath("hivexsh"); err == nil {
		// hivexsh reads the same bytes.
		f := filepath.Join(t.TempDir(), "hive")
		os.WriteFile(f, hive, 0o644)
		cmd := exec.Command(p, f)
		cmd.Stdin = strings.NewReader("lsval\n")
		out, err := cmd.Output()
		if err != nil || string(out) != lsval([]Value{v}) {
			t.Errorf("hivexsh lists %.200q (%v)", out, err)
		}
	}
}

// hiveWithMountedDevices is minimalHive with a MountedDevices key holding
// the value Windows writes for a GPT partition mounted as C:.
func hiveWithMountedDevices() []byte {
	le := binary.LittleEndian
	hive := minimalHive()
	bin := hive[4096:]
	// Cells in the free space of the first bin, from 0xA8.
	off := uint32(0xA8)
	add := func(body []byte) uint32 {
		at := off
		size := (len(body) + 4 + 7) &^ 7
		le.PutUint32(bin[at:], uint32(-int32(size)))
		copy(bin[at+4:], body)
		off += uint32(size)
		return at
	}
	data := append([]byte("DMIO:ID:"), 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8)
	dataOff := add(data)
	name := `\DosDevices\C:`
	vk := make([]byte, 20+len(name))
	copy(vk, "vk")
	le.PutUint16(vk[2:], uint16(len(name)))
	le.PutUint32(vk[4:], uint32(len(data)))
	le.PutUint32(vk[8:], dataOff)
	le.PutUint32(vk[12:], uint32(TypeBinary))
	le.PutUint16(vk[16:], valueCompName)
	copy(vk[20:], name)
	vkOff := add(vk)
	vl := make([]byte, 4)
	le.PutUint32(vl, vkOff)
	vlOff := add(vl)
	kn := "MountedDevices"
	nk := make([]byte, 76+len(kn))
	copy(nk, "nk")
	le.PutUint16(nk[2:], keyCompName)
	le.PutUint32(nk[16:], 0x20)
	for _, o := range []int{28, 32, 48} {
		le.PutUint32(nk[o:], 0xFFFFFFFF)
	}
	le.PutUint32(nk[36:], 1)
	le.PutUint32(nk[40:], vlOff)
	le.PutUint32(nk[44:], 0x78)
	le.PutUint16(nk[72:], uint16(len(kn)))
	copy(nk[76:], kn)
	nkOff := add(nk)
	lf := make([]byte, 12)
	copy(lf, "lf")
	le.PutUint16(lf[2:], 1)
	le.PutUint32(lf[4:], nkOff)
	copy(lf[8:], "Moun")
	lfOff := add(lf)
	le.PutUint32(bin[off:], 4096-off) // the rest is free
	root := bin[0x20+4:]
	le.PutUint32(root[20:], 1)
	le.PutUint32(root[28:], lfOff)
	return hive
}
