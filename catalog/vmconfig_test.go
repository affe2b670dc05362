package catalog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

func TestReadVMConfigSamples(t *testing.T) {
	dir := testutil.Samples(t)
	tests := []struct {
		file, name, id string
		gen            int
		created        string // RFC 3339 prefix, "" when absent
		disks          []DiskAttachment
	}{
		{"test.vmcx", "Other Location", "282874FC-59D6-4F30-BC04-5FDD909C82E0", 1, "2021-",
			[]DiskAttachment{{"IDE", 0, 0, `C:\Users\Public\Documents\Hyper-V\Virtual Hard Disks\Other Location.vhdx`}}},
		{"993F7B33-6057-4D1E-A1FE-A1A1D77BE974.vmcx", "Default Generation 2", "993F7B33-6057-4D1E-A1FE-A1A1D77BE974", 2, "2023-",
			[]DiskAttachment{{"SCSI", 0, 0, `C:\Disks\Default Generation 2.vhdx`}}},
		{"B90AC31B-C6F8-479F-9B91-07B894A6A3F6.xml", "Default Generation 1", "B90AC31B-C6F8-479F-9B91-07B894A6A3F6", 1, "",
			[]DiskAttachment{{"IDE", 0, 0, `C:\Disks\Default Generation 1.vhdx`}}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			c, err := ReadVMConfig(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != tc.name || c.ID != tc.id || c.Generation != tc.gen || c.IsSnapshot {
				t.Errorf("got name %q id %q gen %d snapshot %v", c.Name, c.ID, c.Generation, c.IsSnapshot)
			}
			if tc.created == "" && !c.Created.IsZero() || tc.created != "" &&
				(c.Created.IsZero() || c.Created.Format(time.RFC3339)[:len(tc.created)] != tc.created) {
				t.Errorf("created %v, want %q…", c.Created, tc.created)
			}
			if len(c.Disks) != len(tc.disks) {
				t.Fatalf("disks %+v, want %+v", c.Disks, tc.disks)
			}
			for i := range c.Disks {
				if c.Disks[i] != tc.disks[i] {
					t.Errorf("disk %d = %+v, want %+v", i, c.Disks[i], tc.disks[i])
				}
			}
			if c.ParentSnapshotID != "" || len(c.SnapshotIDs) != 0 {
				t.Errorf("checkpoints where none are: %q %q", c.ParentSnapshotID, c.SnapshotIDs)
			}
		})
	}
}

// The runtime state file shares the container; its tree is known from the
// public description (dissect.hypervisor's test).
func TestParseVMRS(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testutil.Samples(t), "test.VMRS"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := ParseVMCX(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := root.Path("configuration", "properties", "version").Integer(); !ok || v != 2304 {
		t.Errorf("version %v %v", v, ok)
	}
	if got := root.Path("configuration", "_83f8638b-8dca-4152-9eda-2ca8b33039b4_", "VDEVVersion").Text(); got != "1792" {
		t.Errorf("VDEVVersion %q", got)
	}
	if _, err := ExtractVMConfig(root, "test.VMRS"); !errors.Is(err, ErrConfig) {
		t.Errorf("runtime state taken for a VM configuration: %v", err)
	}
}

func TestVMConfigHostile(t *testing.T) {
	dir := testutil.Samples(t)
	vmcx, err := os.ReadFile(filepath.Join(dir, "test.vmcx"))
	if err != nil {
		t.Fatal(err)
	}
	mess := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), vmcx...)) }
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"truncated", vmcx[:0x2004]},
		{"no signature", mess(func(b []byte) []byte { b[0], b[0x1000] = 0, 0; return b })},
		{"bad version", mess(func(b []byte) []byte { b[11], b[0x100b] = 9, 9; return b })},
		{"object count huge", mess(func(b []byte) []byte { copy(b[0x2004:], []byte{0xff, 0xff, 0xff, 0x7f}); return b })},
		{"object table signature", mess(func(b []byte) []byte { b[0x2000] = 0; return b })},
	}
	for _, tc := range tests {
		_, err := ParseVMCX(bytes.NewReader(tc.data), int64(len(tc.data)))
		var fe *FormatError
		if !errors.Is(err, ErrConfig) || !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want a FormatError", tc.name, err)
		}
	}
	for _, x := range []string{"", "<a>", "<configuration><a type=\"integer\">x</a></configuration>", "\xff\xfe<\x00"} {
		if _, err := ParseVMXML(bytes.NewReader([]byte(x)), int64(len(x))); !errors.Is(err, ErrConfig) {
			t.Errorf("XML %q: err = %v", x, err)
		}
	}
}

func TestFiletime(t *testing.T) {
	if got := filetime(116444736000000000 + 1e7); !got.Equal(time.Unix(1, 0)) {
		t.Errorf("filetime = %v", got)
	}
	if !filetime(0).IsZero() || !filetime(-5).IsZero() {
		t.Error("zero/negative FILETIME not zero time")
	}
}

func TestHostileXMLFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "catalog", "hostile", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no hostile inputs: %v", err)
	}
	for _, f := range files {
		if _, err := ReadVMConfig(f); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", filepath.Base(f), err)
		}
	}
}
