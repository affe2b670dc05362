//go:build linux

package fs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

// mountTree is the one way these tests mount: in a temporary folder,
// unmounted when the test ends. Files of the mount are only read with
// plain syscalls from the test goroutine (no exec, no mmap: see the
// deadlock notes in go-fuse's fs/api.go).
func mountTree(t *testing.T, r *Root) string {
	t.Helper()
	dir, _ := mountTreeRaw(t, r)
	return dir
}

// mountTreeRaw is mountTree that also returns the mount's RawFS (request
// counts).
func mountTreeRaw(t *testing.T, r *Root) (string, *RawFS) {
	t.Helper()
	testutil.NeedFUSE(t)
	dir := t.TempDir()
	opts := NodeOptions()
	opts.FsName = "ckptfs-test"
	opts.Name = "ckptfs"
	opts.MaxWrite = 1 << 20
	opts.Options = []string{"ro"}
	server, raw, err := Mount(dir, r, opts)
	if err != nil {
		testutil.Unavailable(t, "cannot mount FUSE here: "+err.Error())
	}
	t.Cleanup(func() {
		if err := server.Unmount(); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir, raw
}

func TestMountRawImage(t *testing.T) {
	tc := newTestCatalog()
	mnt := mountTree(t, newRoot(tc.cat, tc.image, noVolumes))
	img := tc.images[tc.cat.VMs[0].Checkpoints[1].Disks[0]].(*memImage)
	p := filepath.Join(mnt, "checkpoints", "Before update", "disks", "Disk0.raw")
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, img.data) {
		t.Fatalf("raw image differs (%d bytes read, %d expected)", len(got), len(img.data))
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, e := range img.exts {
		for _, off := range []int64{e.Off, e.Off + 1, e.End() - 1} {
			for _, whence := range []int{seekData, seekHole} {
				want, wantErr := wantSeek(img, off, whence == seekData)
				pos, err := syscall.Seek(int(f.Fd()), off, whence)
				if wantErr != 0 && err != wantErr || wantErr == 0 && (err != nil || pos != want) {
					t.Errorf("lseek(%d, %d) = %d, %v; want %d, %v", off, whence, pos, err, want, wantErr)
				}
			}
		}
	}
	if _, err := syscall.Seek(int(f.Fd()), img.Size(), seekData); err != syscall.ENXIO {
		t.Errorf("SEEK_DATA at end: %v, want ENXIO", err)
	}
}

func TestMountParallelReaders(t *testing.T) {
	tc := newTestCatalog()
	mnt := mountTree(t, newRoot(tc.cat, tc.image, noVolumes))
	img := tc.images[tc.cat.VMs[0].Checkpoints[0].Disks[0]].(*memImage)
	p := filepath.Join(mnt, "checkpoints", "Base", "disks", "Disk0.raw")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := os.Open(p)
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			buf := make([]byte, 64<<10)
			for range 50 {
				off := rng.Int64N(img.Size())
				n, err := f.ReadAt(buf[:rng.IntN(len(buf))+1], off)
				if err != nil && err != io.EOF {
					errs <- err
					return
				}
				if !bytes.Equal(buf[:n], img.data[off:off+int64(n)]) {
					errs <- io.ErrShortBuffer
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("parallel reader: %v", err)
	}
}

func TestMountMetadata(t *testing.T) {
	tc := newTestCatalog()
	mnt := mountTree(t, newRoot(tc.cat, tc.image, noVolumes))
	data, err := os.ReadFile(filepath.Join(mnt, "checkpoints", "Base", jsonName))
	if err != nil {
		t.Fatal(err)
	}
	var js checkpointJSON
	if err := json.Unmarshal(data, &js); err != nil || js.ID != "id-base" || js.Parent != nil {
		t.Errorf("checkpoint.json: %v\n%s", err, data)
	}
	ents, err := os.ReadDir(filepath.Join(mnt, "by-time"))
	if err != nil || len(ents) != 2 {
		t.Fatalf("by-time: %v %v", ents, err)
	}
	for i, want := range []string{"../checkpoints/Base", "../checkpoints/Before update"} {
		target, err := os.Readlink(filepath.Join(mnt, "by-time", ents[i].Name()))
		if err != nil || target != want {
			t.Errorf("by-time/%s -> %q, %v; want %q", ents[i].Name(), target, err, want)
		}
		if fi, err := os.Stat(filepath.Join(mnt, "by-time", ents[i].Name(), "disks")); err != nil || !fi.IsDir() {
			t.Errorf("following by-time/%s: %v", ents[i].Name(), err)
		}
	}
	if fi, err := os.Stat(filepath.Join(mnt, "latest", "disks", "Disk0.raw")); err != nil || fi.Size() != 512<<10 {
		t.Errorf("latest: %v", err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "checkpoints", "Base", "x"), nil, 0o644); err == nil {
		t.Error("created a file in the read-only tree")
	}
}

func TestMountGuestFiles(t *testing.T) {
	tc := newTestCatalog()
	vols := func(disk io.ReaderAt, size int64, name string) ([]*guest.Volume, error) {
		return []*guest.Volume{{Name: name + "-p2", Number: 2, FSType: "ntfs", FS: guestFS()}}, nil
	}
	mnt := mountTree(t, newRoot(tc.cat, tc.image, vols))
	vol := filepath.Join(mnt, "checkpoints", "Now", "Disk0-p2")
	a, errA := os.Stat(filepath.Join(vol, "hello.txt"))
	b, errB := os.Stat(filepath.Join(vol, "dir", "hardlink.txt"))
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if a.Sys().(*syscall.Stat_t).Ino != b.Sys().(*syscall.Stat_t).Ino || a.Mode().Perm() != 0o444 {
		t.Errorf("hard links: ino %d vs %d, mode %v", a.Sys().(*syscall.Stat_t).Ino, b.Sys().(*syscall.Stat_t).Ino, a.Mode())
	}
	if !a.ModTime().Equal(tMod) {
		t.Errorf("mtime %v", a.ModTime())
	}
	if got, err := os.ReadFile(filepath.Join(vol, "dir", "sub", "abs-link")); err != nil || string(got) != "hello world" {
		t.Errorf("through the rewritten link: %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(vol, "dir", "escape")); !os.IsNotExist(err) {
		t.Errorf("escaping link should dangle inside the volume: %v", err)
	}
	buf := make([]byte, 256)
	n, err := syscall.Getxattr(filepath.Join(vol, "hello.txt"), "user.Zone.Identifier", buf)
	if err != nil || string(buf[:n]) != zoneID {
		t.Errorf("stream xattr: %q, %v", buf[:max(n, 0)], err)
	}
}

// TestMountGuestFilesNoOpen reads through a real mount that opens guest
// files without requests (Root.SetNoOpen, as mount.Run sets it when the
// kernel offers FUSE_NO_OPEN_SUPPORT): contents are whole and right, twice
// and from several readers at once, and files of other kinds (the raw
// image, whose opens the kernel then skips too) still read.
func TestMountGuestFilesNoOpen(t *testing.T) {
	tc := newTestCatalog()
	vols := func(disk io.ReaderAt, size int64, name string) ([]*guest.Volume, error) {
		return []*guest.Volume{{Name: name + "-p2", Number: 2, FSType: "ntfs", FS: guestFS()}}, nil
	}
	r := newRoot(tc.cat, tc.image, vols)
	r.SetNoOpen(true)
	mnt := mountTree(t, r)
	vol := filepath.Join(mnt, "checkpoints", "Now", "Disk0-p2")
	want := map[string][]byte{
		"hello.txt":            []byte("hello world"),
		"dir/other.txt":        []byte("other"),
		"Program Files/a b.dl": bytes.Repeat([]byte{0xab}, 100_000),
	}
	for pass := 0; pass < 2; pass++ {
		var wg sync.WaitGroup
		errs := make(chan string, 3*len(want))
		for name, data := range want {
			for k := 0; k < 3; k++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got, err := readPlain(filepath.Join(vol, name))
					if err != nil || !bytes.Equal(got, data) {
						errs <- fmt.Sprintf("%s: %d bytes, %v", name, len(got), err)
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Errorf("pass %d: %s", pass, e)
		}
	}
	img := tc.images[tc.cat.VMs[0].Checkpoints[1].Disks[0]].(*memImage)
	got, err := readPlain(filepath.Join(mnt, "checkpoints", "Before update", "disks", "Disk0.raw"))
	if err != nil || !bytes.Equal(got, img.data) {
		t.Errorf("raw image after guest files: %d bytes, %v", len(got), err)
	}
}

// readPlain reads a whole file with plain system calls (see mountTree).
func readPlain(p string) ([]byte, error) {
	fd, err := syscall.Open(p, syscall.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	var out []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := syscall.Read(fd, buf)
		if err != nil {
			return out, err
		}
		if n == 0 {
			return out, nil
		}
		out = append(out, buf[:n]...)
	}
}

// mountImage mounts the test catalog with every disk holding the raw
// image at imgPath, volumes read by package guest.
func mountImage(t *testing.T, imgPath string) string {
	t.Helper()
	raw, err := os.ReadFile(imgPath)
	if err != nil {
		t.Fatal(err)
	}
	tc := newTestCatalog()
	for d := range tc.images {
		tc.images[d] = newMemImage(vhdx.Extent{Off: 0, Len: int64(len(raw)), Kind: vhdx.ExtentData})
		copy(tc.images[d].(*memImage).data, raw)
	}
	return mountTree(t, newRoot(tc.cat, tc.image, guest.Volumes))
}

func TestMountFATVolume(t *testing.T) {
	testutil.NeedTool(t, "mkfs.fat")
	testutil.NeedTool(t, "mcopy")
	dir := t.TempDir()
	imgPath := filepath.Join(dir, "fat.img")
	testutil.Run(t, "mkfs.fat", "-C", "-n", "CKPTFS", imgPath, "8192")
	src := filepath.Join(dir, "readme.txt")
	content := bytes.Repeat([]byte("checkpoint file\n"), 1000)
	if err := os.WriteFile(src, content, 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "mmd", "-i", imgPath, "::/docs")
	testutil.Run(t, "mcopy", "-i", imgPath, src, "::/docs/readme.txt")
	mnt := mountImage(t, imgPath)
	ck := filepath.Join(mnt, "checkpoints", "Base")
	ents, err := os.ReadDir(ck)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"Disk0-vol", "checkpoint.json", "disks", "volumes"}) {
		t.Fatalf("checkpoint dir: %q", names)
	}
	if vol, err := os.ReadFile(filepath.Join(ck, "volumes", "Disk0-vol.raw")); err != nil {
		t.Error(err)
	} else if img, _ := os.ReadFile(imgPath); !bytes.Equal(vol, img) {
		t.Errorf("volumes/Disk0-vol.raw: %d bytes, not the image's %d", len(vol), len(img))
	}
	if st, err := os.Stat(filepath.Join(ck, "Disk0-vol")); err != nil || st.ModTime().Year() < 1980 {
		t.Errorf("FAT root mtime %v (%v): FAT keeps none, the checkpoint's is shown", st.ModTime(), err)
	}
	got, err := os.ReadFile(filepath.Join(ck, "Disk0-vol", "docs", "readme.txt"))
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("FAT file: %d bytes, %v", len(got), err)
	}
	var js checkpointJSON
	data, _ := os.ReadFile(filepath.Join(ck, jsonName))
	if err := json.Unmarshal(data, &js); err != nil || len(js.Volumes) != 1 || js.Volumes[0].Label != "CKPTFS" {
		t.Errorf("volumes in checkpoint.json:\n%s", data)
	}
}

// TestMountExtVolume mounts ext4 and ext3 volumes made by mke2fs from a
// tree with an executable, a private file, a set-uid file, a symlink and a
// hard link, owned by someone else: the mount shows the guest's modes,
// owners and link targets, one inode for both names, and the content, so
// `cp -a` restores them.
func TestMountExtVolume(t *testing.T) {
	testutil.NeedTool(t, "mke2fs")
	tree := t.TempDir()
	files := map[string]os.FileMode{"bin/run.sh": 0o755, "home/key": 0o600, "bin/su": 0o755 | os.ModeSetuid}
	for name, mode := range files {
		p := filepath.Join(tree, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(name), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	owned := os.Geteuid() == 0
	if owned {
		if err := os.Lchown(filepath.Join(tree, "home/key"), 1234, 5678); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../bin/run.sh", filepath.Join(tree, "home/run")); err != nil {
		t.Fatal(err)
	}
	if owned { // the link's own owner, as debugfs shows it
		if err := os.Lchown(filepath.Join(tree, "home/run"), 1000, 1000); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(tree, "bin/run.sh"), filepath.Join(tree, "home/run2")); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"ext4", "ext3"} {
		t.Run(kind, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "img")
			testutil.Run(t, "mke2fs", "-q", "-F", "-t", kind, "-d", tree, img, "8M")
			mnt := mountImage(t, img)
			vol := filepath.Join(mnt, "checkpoints", "Base", "Disk0-vol")
			for name, mode := range files {
				var st syscall.Stat_t
				if err := syscall.Stat(filepath.Join(vol, name), &st); err != nil {
					t.Fatal(err)
				}
				want := uint32(syscall.S_IFREG) | uint32(mode.Perm())
				if mode&os.ModeSetuid != 0 {
					want |= syscall.S_ISUID
				}
				if st.Mode != want {
					t.Errorf("%s: mode %o, want %o", name, st.Mode, want)
				}
				if got, _ := os.ReadFile(filepath.Join(vol, name)); string(got) != name {
					t.Errorf("%s: content %q", name, got)
				}
			}
			var st syscall.Stat_t
			if err := syscall.Stat(filepath.Join(vol, "home/key"), &st); err != nil {
				t.Fatal(err)
			}
			if owned && (st.Uid != 1234 || st.Gid != 5678) {
				t.Errorf("home/key: owner %d:%d, want 1234:5678", st.Uid, st.Gid)
			}
			if target, err := os.Readlink(filepath.Join(vol, "home/run")); err != nil || target != "../bin/run.sh" {
				t.Errorf("home/run -> %q, %v", target, err)
			}
			var ls syscall.Stat_t
			if err := syscall.Lstat(filepath.Join(vol, "home/run"), &ls); owned && (err != nil || ls.Uid != 1000 || ls.Gid != 1000) {
				t.Errorf("symlink owner %d:%d, want 1000:1000 (%v)", ls.Uid, ls.Gid, err)
			}
			var a, b syscall.Stat_t
			if syscall.Stat(filepath.Join(vol, "bin/run.sh"), &a) != nil || syscall.Stat(filepath.Join(vol, "home/run2"), &b) != nil ||
				a.Ino != b.Ino || a.Nlink != 2 {
				t.Errorf("hard link: inodes %d and %d, %d links", a.Ino, b.Ino, a.Nlink)
			}
		})
	}
}
