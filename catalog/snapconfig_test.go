package catalog

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// No real configuration with checkpoints is public, so this test writes
// old-style XML ones by hand, with the checkpoint keys this package
// guesses (properties/parent_snapshot_id) and the known ones (global_id,
// logical_id, creation_time as FILETIME bytes, controllerN/driveN).
// It tests the assembly, not the guess.

const (
	vmID = "0A1B2C3D-0000-4000-8000-00000000AAAA"
	s1ID = "0A1B2C3D-0000-4000-8000-000000000001"
	s2ID = "0A1B2C3D-0000-4000-8000-000000000002"
)

func xmlConfig(name, globalID, parent string, created time.Time, disks ...string) []byte {
	return xmlConfigOf(vmID, name, globalID, parent, created, disks...)
}

// xmlConfigOf writes a configuration of the VM whose id is vm: a VM
// configuration when globalID is vm, a checkpoint's otherwise.
func xmlConfigOf(vm, name, globalID, parent string, created time.Time, disks ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-16" standalone="yes"?>` + "\n<configuration>\n")
	b.WriteString("<_83f8638b-8dca-4152-9eda-2ca8b33039b4_><controller0>")
	for i, d := range disks {
		fmt.Fprintf(&b, `<drive%d><pathname type="string">C:\Hyper-V\web\%s</pathname><type type="string">VHD</type></drive%d>`, i, d, i)
	}
	b.WriteString("</controller0><controller1><drive0><pathname type=\"string\"></pathname><type type=\"string\">ISO</type></drive0></controller1>")
	b.WriteString("</_83f8638b-8dca-4152-9eda-2ca8b33039b4_>\n<properties>")
	fmt.Fprintf(&b, `<global_id type="string">%s</global_id><name type="string">%s</name>`, globalID, name)
	if parent != "" {
		fmt.Fprintf(&b, `<parent_snapshot_id type="string">%s</parent_snapshot_id>`, parent)
	}
	if !created.IsZero() {
		var ft [8]byte
		binary.LittleEndian.PutUint64(ft[:], uint64(created.UnixNano()/100+116444736000000000))
		fmt.Fprintf(&b, `<creation_time type="bytes">%s</creation_time>`, base64.StdEncoding.EncodeToString(ft[:]))
	}
	fmt.Fprintf(&b, "</properties><settings><global><logical_id type=\"string\">%s</logical_id></global></settings>\n</configuration>\n", vm)
	return append([]byte{0xff, 0xfe}, utf16le(b.String())...)
}

func TestOpenWithCheckpointConfigs(t *testing.T) {
	dir := chainDir(t, [][2]string{
		{"web/Virtual Hard Disks/web.vhdx", ""},
		{"web/Virtual Hard Disks/web_S1.avhdx", "web/Virtual Hard Disks/web.vhdx"},
		{"web/Virtual Hard Disks/web_S2.avhdx", "web/Virtual Hard Disks/web_S1.avhdx"},
		{"web/Virtual Hard Disks/data.vhdx", ""},
		{"web/Virtual Hard Disks/data_S1.avhdx", "web/Virtual Hard Disks/data.vhdx"},
		{"web/Virtual Hard Disks/data_S2.avhdx", "web/Virtual Hard Disks/data_S1.avhdx"},
	})
	t1 := time.Date(2024, 3, 1, 10, 15, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	write := func(rel string, b []byte) {
		p := filepath.Join(dir, "web", filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Virtual Machines/"+vmID+".xml", xmlConfig("Web Server", vmID, "", time.Time{}, "web_S2.avhdx", "data_S2.avhdx"))
	write("Snapshots/"+s1ID+".xml", xmlConfig("Before update", s1ID, "", t1, "web.vhdx", "data.vhdx"))
	write("Snapshots/"+s2ID+".xml", xmlConfig("After update", s2ID, s1ID, t2, "web_S1.avhdx", "data_S1.avhdx"))

	c := open(t, dir, Options{})
	if len(c.VMs) != 1 {
		t.Fatalf("%d VMs, warnings %q", len(c.VMs), c.Warnings)
	}
	vm := c.VMs[0]
	if vm.Name != "Web Server" || vm.ID != vmID {
		t.Errorf("VM %q id %q", vm.Name, vm.ID)
	}
	if got := names(vm); got != "After update<-Before update Before update Now*<-After update" {
		t.Errorf("checkpoints %q", got)
	}
	if vm.Checkpoints[0].Name != "Before update" || !vm.Checkpoints[0].Created.Equal(t1) {
		t.Errorf("first %q created %v", vm.Checkpoints[0].Name, vm.Checkpoints[0].Created)
	}
	for _, cp := range vm.Checkpoints {
		if len(cp.Disks) != 2 || cp.Disks[0].Name != "Disk0" || cp.Disks[1].Name != "Disk1" ||
			!strings.HasPrefix(filepath.Base(cp.Disks[0].File), "web") || !strings.HasPrefix(filepath.Base(cp.Disks[1].File), "data") {
			t.Errorf("%s disks %v %v", cp.Name, cp.Disks[0].File, cp.Disks)
		}
	}
	for _, s := range []string{"After update", strings.ToLower(s2ID), "web_S1", "DATA_S1"} {
		if cp, err := vm.Find(s); err != nil || cp.ID != s2ID {
			t.Errorf("Find(%q) = %v, %v", s, cp, err)
		}
	}
	now, _ := vm.Find("Now")
	if now.Disks[1].Chain.Layers[2] != vm.Checkpoints[0].Disks[1].Chain.Layers[0] {
		t.Error("data.vhdx opened twice")
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %q", c.Warnings)
	}
}

func TestCheckpointParentLoopInConfig(t *testing.T) {
	dir := chainDir(t, [][2]string{{"web/web.vhdx", ""}, {"web/web_S1.avhdx", "web/web.vhdx"}})
	write := func(rel string, b []byte) {
		p := filepath.Join(dir, "web", filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, b, 0o644)
	}
	write("Virtual Machines/"+vmID+".xml", xmlConfig("Web", vmID, s2ID, time.Time{}, "web_S1.avhdx"))
	write("Snapshots/"+s1ID+".xml", xmlConfig("One", s1ID, s2ID, time.Time{}, "web.vhdx"))
	write("Snapshots/"+s2ID+".xml", xmlConfig("Two", s2ID, s1ID, time.Time{}, "web.vhdx"))
	c := open(t, dir, Options{})
	if len(c.VMs) != 1 || len(c.VMs[0].Checkpoints) != 3 || len(c.Warnings) == 0 {
		t.Fatalf("VMs %d, warnings %q", len(c.VMs), c.Warnings)
	}
	for _, cp := range c.VMs[0].Checkpoints {
		n := 0
		for p := cp; p != nil; p = p.Parent {
			if n++; n > 3 {
				t.Fatalf("parent loop left in %q", cp.Name)
			}
		}
	}
}

// A VM configuration whose checkpoint configurations are missing: the
// files it does not name become stem checkpoints under it.
func TestOpenConfigWithoutCheckpointConfigs(t *testing.T) {
	dir := chainDir(t, [][2]string{
		{"web/web.vhdx", ""},
		{"web/web_S1.avhdx", "web/web.vhdx"},
		{"web/web_S2.avhdx", "web/web_S1.avhdx"},
	})
	p := filepath.Join(dir, "web", "Virtual Machines", vmID+".xml")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, xmlConfig("Web", vmID, "", time.Time{}, "web_S2.avhdx"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := open(t, dir, Options{})
	if len(c.VMs) != 1 || c.VMs[0].Name != "Web" {
		t.Fatalf("VMs %d", len(c.VMs))
	}
	if got := names(c.VMs[0]); got != "Now*<-web_S1 web web_S1<-web" {
		t.Errorf("checkpoints %q", got)
	}
	if cp, err := c.VMs[0].Find("web_S2"); err != nil || !cp.Live {
		t.Errorf("Find(web_S2) = %v, %v", cp, err)
	}
}
