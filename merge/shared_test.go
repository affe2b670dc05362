package merge

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/vhdx"
)

// vmXML is a Hyper-V 2012 R2 style VM configuration naming one disk.
func vmXML(name, id, disk string) []byte {
	s := `<?xml version="1.0" encoding="UTF-16" standalone="yes"?>` + "\n<configuration>\n" +
		`<_83f8638b-8dca-4152-9eda-2ca8b33039b4_><controller0><drive0><pathname type="string">C:\Hyper-V\` +
		disk + `</pathname><type type="string">VHD</type></drive0></controller0></_83f8638b-8dca-4152-9eda-2ca8b33039b4_>` +
		fmt.Sprintf(`<properties><global_id type="string">%s</global_id><name type="string">%s</name></properties>`, id, name) +
		fmt.Sprintf(`<settings><global><logical_id type="string">%s</logical_id></global></settings>`, id) +
		"\n</configuration>\n"
	out := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

// TestRefusalNamesTheOtherVM: two VMs built on one golden disk each list
// it as a checkpoint; deleting it from one is refused, naming the other VM.
func TestRefusalNamesTheOtherVM(t *testing.T) {
	dir := t.TempDir()
	golden := filepath.Join(dir, "golden.vhdx")
	w, err := vhdx.Create(golden, vhdx.CreateOptions{VirtualSize: 8 << 20, BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	mkChild(t, golden, filepath.Join(dir, "vm1.avhdx"))
	mkChild(t, golden, filepath.Join(dir, "vm2.avhdx"))
	for i, id := range []string{"11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"} {
		cfg := filepath.Join(dir, fmt.Sprintf("VM%d", i+1), "Virtual Machines", id+".xml")
		os.MkdirAll(filepath.Dir(cfg), 0o755)
		if err := os.WriteFile(cfg, vmXML(fmt.Sprintf("VM%d", i+1), id, fmt.Sprintf("vm%d.avhdx", i+1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := catalog.Open(dir, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	_, err = New(cat, "VM1/golden")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), `"golden" of VM "VM2"`) {
		t.Fatalf("deleting VM1/golden: %v; want a refusal naming VM2's checkpoint", err)
	}
	_, err = New(cat, "VM2/golden")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), `"golden" of VM "VM1"`) {
		t.Fatalf("deleting VM2/golden: %v; want a refusal naming VM1's checkpoint", err)
	}
}
