package guest

import (
	"bytes"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// rhelFstab is /etc/fstab as Anaconda writes it for RHEL 9 on LVM with
// XFS, plus lines of other kinds an admin adds.
const rhelFstab = `
#
# /etc/fstab
# Created by anaconda on Tue Mar  2 10:11:12 2021
#
# Accessible filesystems, by reference, are maintained under '/dev/disk/'.
# See man pages fstab(5), findfs(8), mount(8) and/or blkid(8) for more info.
#
/dev/mapper/rhel-root   /                       xfs     defaults        0 0
UUID=0b0e0c0a-1111-4222-8333-000000000b00 /boot                   xfs     defaults        0 0
UUID=7A3E-12C4          /boot/efi               vfat    umask=0077,shortname=winnt 0 2
/dev/mapper/rhel-home   /home                   xfs     defaults        0 0
/dev/mapper/rhel-swap   none                    swap    defaults        0 0
tmpfs	/dev/shm	tmpfs	defaults,size=1g	0 0
nfs01:/export/share /mnt/share nfs4 rw,_netdev 0 0
/srv/data /var/www/html/data none bind 0 0
LABEL="web\040data" /var/www/html\040files ext4 defaults 0 2
/dev/data--vg/web--lv /srv/web ext4 defaults 0 2
/dev/mapper/data--vg-web--lv /srv/web2 ext4 defaults 0 2
/dev/sda2 /mnt/legacy auto
/dev/disk/by-label/my\x20disk /mnt/bylabel ext4 defaults
PARTLABEL=primary /mnt/pl xfs
broken-line-with-one-field
`

func TestParseFstab(t *testing.T) {
	ents := ParseFstab([]byte(rhelFstab))
	var got []string
	for _, e := range ents {
		got = append(got, e.Spec+" "+e.File+" "+e.Type+" "+strings.Join(e.Options, ","))
	}
	want := []string{
		"/dev/mapper/rhel-root / xfs defaults",
		"UUID=0b0e0c0a-1111-4222-8333-000000000b00 /boot xfs defaults",
		"UUID=7A3E-12C4 /boot/efi vfat umask=0077,shortname=winnt",
		"/dev/mapper/rhel-home /home xfs defaults",
		"/dev/mapper/rhel-swap none swap defaults",
		"tmpfs /dev/shm tmpfs defaults,size=1g",
		"nfs01:/export/share /mnt/share nfs4 rw,_netdev",
		"/srv/data /var/www/html/data none bind",
		`LABEL="web data" /var/www/html files ext4 defaults`,
		"/dev/data--vg/web--lv /srv/web ext4 defaults",
		"/dev/mapper/data--vg-web--lv /srv/web2 ext4 defaults",
		"/dev/sda2 /mnt/legacy auto defaults",
		`/dev/disk/by-label/my\x20disk /mnt/bylabel ext4 defaults`,
		"PARTLABEL=primary /mnt/pl xfs defaults",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ents[2].Line != 11 {
		t.Errorf("line of the third entry: %d", ents[2].Line)
	}
}

func TestParseDevice(t *testing.T) {
	for spec, want := range map[string]deviceRef{
		"UUID=abc":                     {kind: "uuid", value: "abc"},
		`UUID="abc"`:                   {kind: "uuid", value: "abc"},
		`LABEL="web data"`:             {kind: "label", value: "web data"},
		"PARTUUID=0c4b7f5a-05":         {kind: "partuuid", value: "0c4b7f5a-05"},
		"PARTLABEL=EFI":                {kind: "partlabel", value: "EFI"},
		"/dev/disk/by-uuid/abc":        {kind: "uuid", value: "abc"},
		`/dev/disk/by-label/my\x20web`: {kind: "label", value: "my web"},
		"/dev/disk/by-partuuid/x-01":   {kind: "partuuid", value: "x-01"},
		"/dev/mapper/rhel-root":        {kind: "mapper", value: "rhel/root", name: "rhel-root"},
		"/dev/mapper/data--vg-web--lv": {kind: "mapper", value: "data-vg/web-lv", name: "data--vg-web--lv"},
		"/dev/mapper/a---b":            {kind: "mapper", value: "a-/b", name: "a---b"},
		"/dev/mapper/luks-1234":        {kind: "mapper", value: "luks/1234", name: "luks-1234"},
		"/dev/mapper/sda3_crypt":       {kind: "mapper", name: "sda3_crypt"},
		"/dev/rhel/root":               {kind: "lvm", value: "rhel/root"},
		"/dev/sda2":                    {kind: "disk", disk: 0, part: 2},
		"/dev/vdb1":                    {kind: "disk", disk: 1, part: 1},
		"/dev/xvda3":                   {kind: "disk", disk: 0, part: 3},
		"/dev/hdc10":                   {kind: "disk", disk: 2, part: 10},
		"/dev/nvme1n1p2":               {kind: "disk", disk: 1, part: 2},
	} {
		if got, ok := parseDevice(spec); !ok || got != want {
			t.Errorf("%s: %+v %v, want %+v", spec, got, ok, want)
		}
	}
	for _, spec := range []string{"tmpfs", "proc", "nfs01:/x", "//server/share", "/srv/data", "UUID=",
		"/dev/mapper/", "/dev/mapper/a/b", "/dev/sda", "/dev/sda0", "/dev/nvme0n1", "/dev/a/b/c", "/dev/"} {
		if got, ok := parseDevice(spec); ok {
			t.Errorf("%s: %+v, want no device", spec, got)
		}
	}
}

func TestUnescapeFstab(t *testing.T) {
	for in, want := range map[string]string{
		`a\040b`: "a b", `tab\011`: "tab\t", `back\134slash`: `back\slash`, `\08`: `\08`,
		`end\04`: `end\04`, `x\`: `x\`, `\101\102`: "AB", `\777`: "\xff",
	} {
		if got := unescapeFstab(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// posixMapFS is a MapFS whose links are POSIX paths, as a Linux root's.
type posixMapFS struct{ fstest.MapFS }

func (posixMapFS) POSIXLinks() bool { return true }

// fakeRoot is a volume holding a Linux root with fstab, beside volumes
// only their partition entries and LVM names identify.
func fakeVolumes(fstab []byte) []*Volume {
	root := posixMapFS{fstest.MapFS{
		"etc/fstab":      {Data: fstab},
		"etc/crypttab":   {Data: fstab}, // a fuzz input is both
		"etc/os-release": {Data: []byte("NAME=Test\n")},
		"boot":           {Mode: fs.ModeDir | 0o755},
		"home/x":         {Data: []byte("x")},
	}}
	other := func() fs.FS {
		return posixMapFS{fstest.MapFS{"a/b": {Data: []byte("b")}}}
	}
	return []*Volume{
		{Name: "D-p1", Number: 1, Table: "gpt", PartGUID: "AAAAAAAA-0000-0000-0000-000000000001", PartName: "EFI", FS: other(), disk: "D"},
		{Name: "D-p2", Number: 2, Table: "gpt", PartGUID: "AAAAAAAA-0000-0000-0000-000000000002", PartName: "boot", FSType: fsExt4, FS: other(), disk: "D"},
		{Name: "D-p3", Number: 3, Table: "gpt", PartType: fsLVM2, FSType: fsLVM2, disk: "D"},
		{Name: "D-p3-rhel-root", Number: 3, Table: "gpt", PartType: fsLVM2, PartName: "rhel/root", FS: root, disk: "D"},
		{Name: "D-p3-rhel-home", Number: 3, Table: "gpt", PartType: fsLVM2, PartName: "rhel/home", FS: other(), disk: "D"},
		{Name: "D-p4", Number: 4, Table: "gpt", PartGUID: "AAAAAAAA-0000-0000-0000-000000000004", Encryption: "luks2",
			Layers: []string{"luks"}, cryptUUID: "c0ffee00-0000-4000-8000-000000000004", FS: other(), disk: "D"},
		{Name: "E-p1", Number: 1, Table: "mbr", DiskSignature: 0x0c4b7f5a, FSType: fsXFS, FS: other(), disk: "E"},
	}
}

func mountList(mps []MountPoint) string {
	var b strings.Builder
	for _, mp := range mps {
		b.WriteString(mp.Path + " " + mp.Volume.Name + " " + mp.Dir + "\n")
	}
	return b.String()
}

func TestMountPointsFake(t *testing.T) {
	vols := fakeVolumes([]byte(`
/dev/mapper/rhel-root / xfs defaults 0 0
PARTUUID=aaaaaaaa-0000-0000-0000-000000000002 /boot ext4 defaults 0 0
PARTLABEL=EFI /boot/efi vfat defaults 0 0
/dev/rhel/home /home xfs defaults 0 0
/dev/sdb1 /srv xfs defaults 0 0
/dev/sdb1 /srv2 ext4 defaults 0 0
PARTUUID=0c4b7f5a-01 /srv3 auto
/dev/sda9 /nothing auto
UUID=nothing /nothing2 auto
/dev/mapper/rhel-home /home/again/.. xfs
`))
	got := mountList(MountPoints(vols))
	want := "/ D-p3-rhel-root .\n/boot D-p2 .\n/boot/efi D-p1 .\n/home D-p3-rhel-home .\n/srv E-p1 .\n/srv3 E-p1 .\n"
	if got != want {
		t.Errorf("mount points:\n%swant:\n%s", got, want)
	}
	mps := MountPoints(vols)
	for p, want := range map[string]string{
		"/home/x": "D-p3-rhel-home a/b", "/home/a/b": "D-p3-rhel-home a/b", "/etc/fstab": "D-p3-rhel-root etc/fstab",
		"/": "D-p3-rhel-root .", "/boot/efi": "D-p1 .", "/boot/efix": "D-p2 efix", "//srv//x/": "E-p1 x",
	} {
		mp, rest, err := ResolveMountPath(mps, p)
		if p == "/home/x" {
			want = "D-p3-rhel-home x"
		}
		if err != nil || mp.Volume.Name+" "+rest != want {
			t.Errorf("%s: %s %s %v, want %s", p, mp.Volume.Name, rest, err, want)
		}
	}
	if _, _, err := ResolveMountPath(nil, "/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no mount points: %v", err)
	}
	// No fstab entry for /: the volume with the fstab is taken.
	mps = MountPoints(fakeVolumes([]byte("LABEL=x /data xfs\n")))
	if len(mps) != 1 || mps[0].Path != "/" || !mps[0].Guessed || mps[0].Volume.Name != "D-p3-rhel-root" {
		t.Errorf("guessed root: %s", mountList(mps))
	}
}

// fstabSeeds are the fuzz seeds: real layouts and hostile ones.
var fstabSeeds = [][]byte{
	[]byte(rhelFstab),
	[]byte("UUID=x / btrfs subvol=root,compress=zstd:1 0 0\nUUID=x /home btrfs subvol=home 0 0\nUUID=x /s btrfs subvolid=999\n"),
	[]byte("/dev/mapper/rhel-root / xfs\n/dev/mapper/rhel-root / xfs\n/ / none bind\n/home /home none bind\n"),
	bytes.Repeat([]byte("/dev/sda1 /a/b/c ext4 defaults 0 0\n"), 3000),
	bytes.Repeat([]byte{0, 0xff, '\n', '\\', '0', ' '}, 20000),
	[]byte(strings.Repeat(`\101`, 5000) + " /x\n"),
	[]byte("#only a comment"),
}

// FuzzFstab parses an fstab, maps it onto fake volumes and resolves its
// mount points: no input may panic, and the bounds hold.
func FuzzFstab(f *testing.F) {
	for _, s := range fstabSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ents := ParseFstab(b)
		if len(ents) > maxFstabEntries {
			t.Fatalf("%d entries", len(ents))
		}
		for _, e := range ents {
			parseDevice(e.Spec)
			e.Option("subvol")
		}
		mps := MountPoints(fakeVolumes(b))
		if len(mps) == 0 || len(mps) > maxFstabEntries+1 {
			t.Fatalf("%d mount points", len(mps))
		}
		for _, mp := range mps {
			if _, _, err := ResolveMountPath(mps, mp.Path+"/x"); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestHostileFstab: a huge, binary or self-mounting fstab is cut at the
// bounds and maps nothing it should not.
func TestHostileFstab(t *testing.T) {
	if n := len(ParseFstab(bytes.Repeat([]byte("LABEL=x /a xfs\n"), 5000))); n != maxFstabEntries {
		t.Errorf("%d entries of 5000 lines", n)
	}
	long := "UUID=" + strings.Repeat("a", maxFstabField) + " /x xfs\n/dev/rhel/home /home xfs\n"
	if ents := ParseFstab([]byte(long)); len(ents) != 1 || ents[0].File != "/home" {
		t.Errorf("an over-long field: %+v", ents)
	}
	past := append(bytes.Repeat([]byte("#"), maxFstabBytes), "\n/dev/rhel/home /home xfs\n"...)
	if ents := ParseFstab(past); len(ents) != 0 {
		t.Errorf("an entry past %d bytes: %+v", maxFstabBytes, ents)
	}
	bin := bytes.Repeat([]byte{0, 0xff, 0x80, ' ', '/', '\n'}, 10000)
	if mps := MountPoints(fakeVolumes(bin)); len(mps) != 1 || !mps[0].Guessed {
		t.Errorf("a binary fstab: %s", mountList(mps))
	}
	// Bind mounts of / onto itself, and a volume mounted over its own
	// mount point: the binds are skipped, the last line for a path wins.
	loops := "/ / none bind\n/home /home/x none rbind\n/dev/rhel/home /home xfs\n/dev/rhel/root /home xfs\n"
	if got := mountList(MountPoints(fakeVolumes([]byte(loops)))); got != "/ D-p3-rhel-root .\n/home D-p3-rhel-root .\n" {
		t.Errorf("looping fstab:\n%s", got)
	}
}

// TestMountPointsCrypt: /dev/mapper names of decrypted LUKS volumes, by
// /etc/crypttab (a LUKS UUID, a PARTUUID) or Fedora's luks-<UUID>.
func TestMountPointsCrypt(t *testing.T) {
	vols := fakeVolumes([]byte(`/dev/rhel/root / xfs
/dev/mapper/secret_crypt /srv/a ext4 defaults
/dev/mapper/luks-BEEF0000-0000-4000-8000-000000000005 /srv/b ext4
/dev/mapper/bypart /srv/c ext4
/dev/mapper/unknown /srv/d ext4
/dev/mapper/luks-c0ffee00-0000-4000-8000-000000000004 /srv/e ext4
`))
	root := vols[3].FS.(posixMapFS)
	root.MapFS["etc/crypttab"] = &fstest.MapFile{Data: []byte(
		"# <name> <device> <password> <options>\nsecret_crypt UUID=c0ffee00-0000-4000-8000-000000000004 none luks\n" +
			"bypart\tPARTUUID=aaaaaaaa-0000-0000-0000-000000000005 /etc/key luks,discard\nbroken\n")}
	other := posixMapFS{fstest.MapFS{"f": {Data: []byte("f")}}}
	vols = append(vols, // D-p4 is fakeVolumes' own
		&Volume{Name: "D-p5", Number: 5, Table: "gpt", PartGUID: "AAAAAAAA-0000-0000-0000-000000000005", Encryption: "luks2",
			Layers: []string{"luks"}, cryptUUID: "beef0000-0000-4000-8000-000000000005", FS: other, disk: "D"})
	got := mountList(MountPoints(vols))
	want := "/ D-p3-rhel-root .\n/srv/a D-p4 .\n/srv/b D-p5 .\n/srv/c D-p5 .\n/srv/e D-p4 .\n"
	if got != want {
		t.Errorf("mount points:\n%swant:\n%s", got, want)
	}
}
