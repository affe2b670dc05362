// Package bltest builds BitLocker test fixtures for the packages above
// the bitlocker reader (guest, cmd): a FAT volume with files made by
// mkfs.fat and mtools, wrapped in BitLocker by bitlocker.BuildTestVolume,
// alone and as a GPT partition, each also converted to VHDX by qemu-img.
package bltest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/bitlocker"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// Fixture is one built set of images and the keys that open them.
type Fixture struct {
	Dir      string
	Volume   string // the BitLocker volume alone, raw
	VHDX     string // the same as a VHDX ("vol.vhdx": volume "vol-vol")
	GPTVHDX  string // a GPT disk, the volume as partition 1 ("disk.vhdx": volume "disk-p1")
	Password string
	Recovery string
	BEK      string            // the startup key file
	Files    map[string]string // path in the volume -> content
	View     []byte            // the decrypted volume as it must read
}

const (
	volSize = 32 << 20
	volOff  = 1 << 20 // the partition's offset in the GPT disk
)

// Build makes a fixture in a temporary folder of t.
func Build(t testing.TB, seed uint64) *Fixture {
	t.Helper()
	for _, tool := range []string{"mkfs.fat", "mcopy", "mmd", "sgdisk", "qemu-img"} {
		testutil.NeedTool(t, tool)
	}
	dir := t.TempDir()
	fx := &Fixture{Dir: dir, Password: fmt.Sprintf("pässwörd %d", seed),
		Files: map[string]string{"HELLO.TXT": "hello from inside BitLocker\n", "DIR/NOTE.TXT": fmt.Sprintf("seed %d\n", seed)}}
	plainPath := filepath.Join(dir, "plain.img")
	testutil.Run(t, "mkfs.fat", "-F", "16", "-n", "BLTEST", "-C", plainPath, fmt.Sprint(volSize/1024))
	testutil.Run(t, "mmd", "-i", plainPath, "::DIR")
	for name, content := range fx.Files {
		local := filepath.Join(dir, "src-"+filepath.Base(name))
		if err := os.WriteFile(local, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		testutil.Run(t, "mcopy", "-i", plainPath, local, "::"+name)
	}
	plain, err := os.ReadFile(plainPath)
	if err != nil {
		t.Fatal(err)
	}
	// The metadata copies lie in the last megabytes, which the few small
	// files never reach: the view reads them as zeros, as BitLocker keeps
	// its own files there on a real volume.
	bv, err := bitlocker.BuildTestVolume(plain, bitlocker.BuildOptions{Kind: bitlocker.KindWindows7,
		Method: bitlocker.AESXTS128, SectorSize: 512, Password: fx.Password, RecoveryPassword: true,
		StartupKey: true, Seed: seed,
		MetadataOffsets: [3]int64{volSize - 4<<20, volSize - 3<<20, volSize - 2<<20}})
	if err != nil {
		t.Fatal(err)
	}
	fx.Recovery, fx.View = bv.RecoveryPassword, bv.View
	fx.Volume = filepath.Join(dir, "vol.img")
	fx.BEK = filepath.Join(dir, "startup.BEK")
	write(t, fx.Volume, bv.Image)
	write(t, fx.BEK, bv.StartupKeyFile)
	fx.VHDX = filepath.Join(dir, "vol.vhdx")
	testutil.Run(t, "qemu-img", "convert", "-f", "raw", "-O", "vhdx", fx.Volume, fx.VHDX)

	raw := filepath.Join(dir, "disk.raw")
	f, err := os.Create(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(volOff + volSize + 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bv.Image, volOff); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "sgdisk", "-n", fmt.Sprintf("1:%d:+%dK", volOff/512, volSize/1024), "-t", "1:0700", raw)
	fx.GPTVHDX = filepath.Join(dir, "disk.vhdx")
	testutil.Run(t, "qemu-img", "convert", "-f", "raw", "-O", "vhdx", raw, fx.GPTVHDX)
	return fx
}

func write(t testing.TB, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// SampleInGPT unpacks one image of samples/bitlocker.tar.xz (a volume
// made by Windows) and returns a VHDX holding it as GPT partition 1.
func SampleInGPT(t testing.TB, name string) string {
	t.Helper()
	src := filepath.Join(testutil.Samples(t), "bitlocker.tar.xz")
	for _, tool := range []string{"xz", "sgdisk", "qemu-img"} {
		testutil.NeedTool(t, tool)
	}
	dir := t.TempDir()
	testutil.Run(t, "tar", "-xJf", src, "-C", dir, "bitlocker/"+name+".img")
	vol, err := os.ReadFile(filepath.Join(dir, "bitlocker", name+".img"))
	if err != nil {
		t.Fatal(err)
	}
	raw := filepath.Join(dir, "disk.raw")
	f, err := os.Create(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(volOff + int64(len(vol)) + 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(vol, volOff); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "sgdisk", "-n", fmt.Sprintf("1:%d:+%dK", volOff/512, len(vol)/1024), "-t", "1:0700", raw)
	out := filepath.Join(dir, "disk.vhdx")
	testutil.Run(t, "qemu-img", "convert", "-f", "raw", "-O", "vhdx", raw, out)
	os.Remove(raw)
	return out
}
