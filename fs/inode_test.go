//go:build linux

package fs

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

// TestMountSeveralVMsInodes mounts a folder of three VMs that collide in
// everything a hash of names could see: the same VM name, the same
// checkpoint names and ids, the same disk and volume names (Disk0-vol),
// and ext volumes whose files have the same inode numbers. Every volume
// directory and every file must get its own inode number, and each VM
// must list and read its own files (the kernel and go-fuse key nodes by
// inode: one shared number showed the first VM's tree everywhere).
func TestMountSeveralVMsInodes(t *testing.T) {
	testutil.NeedTool(t, "mke2fs")
	testutil.NeedTool(t, "mkfs.fat")
	dir := t.TempDir()
	// Two ext volumes from trees of one shape: the file gets inode 12 in
	// both, and a symlink of the same path in both.
	var imgs [][]byte
	for _, name := range []string{"alpha", "beta"} {
		tree := filepath.Join(dir, name)
		os.MkdirAll(tree, 0o755)
		if err := os.WriteFile(filepath.Join(tree, name+".txt"), []byte("content of "+name), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(name+".txt", filepath.Join(tree, "link")); err != nil {
			t.Fatal(err)
		}
		img := filepath.Join(dir, name+".img")
		testutil.Run(t, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, img, "4M")
		imgs = append(imgs, readFile(t, img))
	}
	fat := filepath.Join(dir, "gamma.img")
	testutil.Run(t, "mkfs.fat", "-C", "-n", "GAMMA", fat, "4096")
	src := filepath.Join(dir, "gamma.txt")
	os.WriteFile(src, []byte("content of gamma"), 0o644)
	testutil.Run(t, "mcopy", "-i", fat, src, "::/gamma.txt")
	imgs = append(imgs, readFile(t, fat))

	var all *testCatalog
	for i, raw := range imgs {
		tc := newTestCatalog() // VM "web01", checkpoints Base, Before update, Now with the same ids
		for d := range tc.images {
			tc.images[d] = newMemImage(vhdx.Extent{Off: 0, Len: int64(len(raw)), Kind: vhdx.ExtentData})
			copy(tc.images[d].(*memImage).data, raw)
		}
		if i == 0 {
			all = tc
			continue
		}
		all.cat.VMs = append(all.cat.VMs, tc.cat.VMs[0])
		maps.Copy(all.images, tc.images)
	}
	mnt := mountTree(t, newRoot(all.cat, all.image, guest.Volumes))

	vms := []string{"web01", "web01 (2)", "web01 (3)"}
	own := []string{"alpha.txt", "beta.txt", "gamma.txt"}
	seen := map[uint64]string{}
	note := func(p string) {
		t.Helper()
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		if prev, ok := seen[st.Ino]; ok {
			t.Errorf("inode %d shared by %s and %s", st.Ino, prev, p)
		}
		seen[st.Ino] = p
	}
	for i, vm := range vms {
		for _, ck := range []string{"Base", "Before update", "Now"} {
			vol := filepath.Join(mnt, vm, "checkpoints", ck, "Disk0-vol")
			note(vol)
			ents, err := os.ReadDir(vol)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range ents {
				if e.Name() != "lost+found" {
					names = append(names, e.Name())
				}
			}
			want := []string{own[i], "link"}
			if i == 2 {
				want = []string{own[i]}
			}
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Errorf("%s/%s lists %q, want %q", vm, ck, names, want)
			}
			for _, n := range names {
				note(filepath.Join(vol, n))
			}
			got, err := os.ReadFile(filepath.Join(vol, own[i]))
			if want := "content of " + own[i][:len(own[i])-4]; err != nil || string(got) != want {
				t.Errorf("%s/%s/%s = %q, %v", vm, ck, own[i], got, err)
			}
		}
	}
	if len(seen) != 3*3+2*3*2+3 { // volume roots, ext files and links, FAT files
		t.Errorf("%d distinct inodes", len(seen))
	}
}

func TestInoSpace(t *testing.T) {
	var vols volumeNumbers
	a, _ := vols.take()
	b, _ := vols.take()
	if a.number("x", 12, true) == b.number("x", 12, true) {
		t.Error("same identity in two volumes shares a number")
	}
	if a.number("x", 12, true) != a.number("y", 12, true) {
		t.Error("hard links differ")
	}
	big := uint64(1)<<60 | 12
	if a.number("x", big, true) == a.number("x", 12, true) || a.number("x", big, true) == a.number("x", 0, false) {
		t.Error("a large identity or a path collides with a small identity")
	}
	p1 := a.number("p", 0, false)
	if a.number("p", 0, false) != p1 || p1 == a.number("q", 0, false) {
		t.Error("paths")
	}
	for _, n := range []uint64{a.number("x", 12, true), a.number("p", 0, false), b.number("x", big, true)} {
		if n>>63 != 0 || n <= 1 {
			t.Errorf("number %#x outside the guest range", n)
		}
	}
	var full volumeNumbers
	full.next.Store(maxVols)
	if _, err := full.take(); err == nil {
		t.Error("volume numbers past the limit")
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMountShowsOddNTFSNames: NTFS names that cannot be shown as stored
// (a "/" written into the index entry and the record, a name listed
// twice) are listed and read through the mount under the renaming rule
// of checkpoint names, not dropped.
func TestMountShowsOddNTFSNames(t *testing.T) {
	testutil.NeedTool(t, "mkntfs")
	testutil.NeedTool(t, "ntfscp")
	dir := t.TempDir()
	img := filepath.Join(dir, "ntfs.img")
	f, _ := os.Create(img)
	f.Truncate(16 << 20)
	f.Close()
	testutil.Run(t, "mkntfs", "-q", "-F", "-Q", img)
	// ab.txt's index entry straddles a sector end (hidden bytes): left alone
	for _, name := range []string{"0slash.txt", "aaaaa.txt", "ab.txt", "bbbbb.txt"} {
		src := filepath.Join(dir, "src")
		os.WriteFile(src, []byte(name), 0o644)
		testutil.Run(t, "ntfscp", "-f", img, src, name)
	}
	raw := readFile(t, img)
	u16 := func(s string) []byte {
		var b []byte
		for _, c := range s {
			b = append(b, byte(c), 0)
		}
		return b
	}
	for from, to := range map[string]string{"0slash.txt": "0sl/sh.txt", "bbbbb.txt": "aaaaa.txt"} {
		for i := bytes.Index(raw, u16(from)); i >= 0; i = bytes.Index(raw, u16(from)) {
			copy(raw[i:], u16(to))
		}
	}
	os.WriteFile(img, raw, 0o644)
	vol := filepath.Join(mountImage(t, img), "checkpoints", "Now", "Disk0-vol")
	ents, err := os.ReadDir(vol)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{"0sl_sh.txt", "aaaaa.txt", "aaaaa.txt (2)", "ab.txt"}; !slices.Equal(names, want) {
		t.Errorf("listed %q, want %q", names, want)
	}
	for name, want := range map[string]string{"0sl_sh.txt": "0slash.txt", "aaaaa.txt (2)": "bbbbb.txt", "aaaaa.txt": "aaaaa.txt"} {
		if got, err := os.ReadFile(filepath.Join(vol, name)); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
}
