//go:build linux

package fs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/vhdx"
	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

var ctx = context.Background()

func names(n *gofs.Inode) []string { return slices.Sorted(maps.Keys(n.Children())) }

func readlink(t *testing.T, n *gofs.Inode) string {
	t.Helper()
	b, errno := n.Operations().(gofs.NodeReadlinker).Readlink(ctx)
	if errno != 0 {
		t.Fatalf("readlink %s: %v", n.Path(nil), errno)
	}
	return string(b)
}

func TestTreeTop(t *testing.T) {
	tc := newTestCatalog()
	r := bridged(t, newRoot(tc.cat, tc.image, noVolumes))
	root := r.EmbeddedInode()
	if got := names(root); !slices.Equal(got, []string{"by-time", "checkpoints", "latest"}) {
		t.Fatalf("top = %q", got)
	}
	if got := names(walk(t, root, "checkpoints")); !slices.Equal(got, []string{"Base", "Before update", "Now"}) {
		t.Errorf("checkpoints = %q", got)
	}
	bt := walk(t, root, "by-time")
	if got := names(bt); !slices.Equal(got, []string{"2026-11-20T10.15.00", "2026-11-21T08.00.30"}) {
		t.Errorf("by-time = %q", got)
	}
	if got := readlink(t, walk(t, bt, "2026-11-21T08.00.30")); got != "../checkpoints/Before update" {
		t.Errorf("by-time link = %q", got)
	}
	if got := readlink(t, walk(t, root, "latest")); got != "checkpoints/Now" {
		t.Errorf("latest = %q", got)
	}
	disk := walk(t, root, "checkpoints", "Base", "disks", "Disk0.raw")
	var out fuse.AttrOut
	if errno := disk.Operations().(gofs.NodeGetattrer).Getattr(ctx, nil, &out); errno != 0 {
		t.Fatal(errno)
	}
	if out.Size != 512<<10 || out.Mode != modeFile {
		t.Errorf("raw attr size %d mode %o", out.Size, out.Mode)
	}
	if want := uint64(160 << 10 / 512); out.Blocks != want {
		t.Errorf("raw blocks %d, want %d (data extents only)", out.Blocks, want)
	}
}

func TestTreeSeveralVMs(t *testing.T) {
	a, b := newTestCatalog(), newTestCatalog()
	a.cat.VMs = append(a.cat.VMs, b.cat.VMs[0], &catalog.VM{Name: "../evil"})
	maps.Copy(a.images, b.images)
	r := bridged(t, newRoot(a.cat, a.image, noVolumes))
	if got := names(r.EmbeddedInode()); !slices.Equal(got, []string{".._evil", "web01", "web01 (2)"}) {
		t.Fatalf("top = %q", got)
	}
	walk(t, r.EmbeddedInode(), "web01 (2)", "checkpoints", "Now", "disks", "Disk0.raw")
	if got := names(walk(t, r.EmbeddedInode(), ".._evil")); !slices.Equal(got, []string{"by-time", "checkpoints"}) {
		t.Errorf("empty VM = %q", got)
	}
}

func rawOf(t *testing.T, r *Root, ckpt string) (*rawFile, *memImage) {
	t.Helper()
	n := walk(t, r.EmbeddedInode(), "checkpoints", ckpt, "disks", "Disk0.raw")
	rf := n.Operations().(*rawFile)
	return rf, rf.img.(*memImage)
}

func TestRawRead(t *testing.T) {
	tc := newTestCatalog()
	r := bridged(t, newRoot(tc.cat, tc.image, noVolumes))
	rf, img := rawOf(t, r, "Base")
	for _, c := range []struct {
		off  int64
		size int
		want int
	}{{0, 4096, 4096}, {100, 1 << 20, 512<<10 - 100}, {512<<10 - 1, 10, 1}, {512 << 10, 10, 0}, {1 << 30, 10, 0}} {
		res, errno := rf.Read(ctx, nil, make([]byte, c.size), c.off)
		if errno != 0 {
			t.Fatalf("read at %d: %v", c.off, errno)
		}
		got, _ := res.Bytes(nil)
		if len(got) != c.want || (c.want > 0 && !slices.Equal(got, img.data[c.off:c.off+int64(c.want)])) {
			t.Errorf("read %d at %d: %d bytes, want %d matching", c.size, c.off, len(got), c.want)
		}
	}
	img.badOff, img.badLen = 130<<10, 1
	if _, errno := rf.Read(ctx, nil, make([]byte, 4096), 128<<10); errno != syscall.EIO {
		t.Errorf("corrupt read: errno %v, want EIO", errno)
	}
	if _, errno := rf.Read(ctx, nil, make([]byte, 4096), 0); errno != 0 {
		t.Errorf("read beside the corruption: %v", errno)
	}
	if _, _, errno := rf.Open(ctx, syscall.O_RDWR); errno != syscall.EROFS {
		t.Errorf("open for writing: %v", errno)
	}
	if _, fl, _ := rf.Open(ctx, syscall.O_RDONLY); fl&fuse.FOPEN_KEEP_CACHE == 0 {
		t.Errorf("open flags %x lack KEEP_CACHE", fl)
	}
}

// wantSeek computes SEEK_DATA/SEEK_HOLE straight from the extent list.
func wantSeek(img *memImage, off int64, data bool) (int64, syscall.Errno) {
	if off >= img.Size() {
		return 0, syscall.ENXIO
	}
	for _, e := range img.exts {
		if e.End() > off && (e.Kind == vhdx.ExtentData) == data {
			return max(e.Off, off), 0
		}
	}
	if data {
		return 0, syscall.ENXIO
	}
	return img.Size(), 0
}

func TestRawSeek(t *testing.T) {
	tc := newTestCatalog()
	r := bridged(t, newRoot(tc.cat, tc.image, noVolumes))
	rf, img := rawOf(t, r, "Now")
	var offs []int64
	for _, e := range img.exts {
		offs = append(offs, e.Off, e.Off+1, e.End()-1)
	}
	offs = append(offs, img.Size(), img.Size()+4096)
	for _, off := range offs {
		for _, whence := range []uint32{seekData, seekHole} {
			want, wantErr := wantSeek(img, off, whence == seekData)
			got, errno := rf.Lseek(ctx, nil, uint64(off), whence)
			if errno != wantErr || (errno == 0 && int64(got) != want) {
				t.Errorf("lseek(%d, %d) = %d, %v; want %d, %v", off, whence, got, errno, want, wantErr)
			}
		}
	}
	if _, errno := rf.Lseek(ctx, nil, 0, 0); errno != syscall.EINVAL {
		t.Errorf("SEEK_SET: %v", errno)
	}
}

// brokenImage fails every extent query, as an unreadable BAT would.
type brokenImage struct{ *memImage }

func (brokenImage) Extents(off, n int64) ([]vhdx.Extent, error) {
	return nil, &vhdx.FormatError{Off: 0x30000, What: "test BAT"}
}

func TestRawBrokenExtents(t *testing.T) {
	tc := newTestCatalog()
	for d, img := range tc.images {
		tc.images[d] = brokenImage{img.(*memImage)}
	}
	r := bridged(t, newRoot(tc.cat, tc.image, noVolumes))
	rf := walk(t, r.EmbeddedInode(), "checkpoints", "Base", "disks", "Disk0.raw").Operations().(*rawFile)
	if _, errno := rf.Lseek(ctx, nil, 0, seekData); errno != syscall.EIO {
		t.Errorf("lseek on broken extents: %v, want EIO", errno)
	}
	var out fuse.AttrOut
	if errno := rf.Getattr(ctx, nil, &out); errno != 0 || out.Size != 512<<10 {
		t.Errorf("getattr: %v size %d", errno, out.Size)
	}
}

func readAll(t *testing.T, n *gofs.Inode) []byte {
	t.Helper()
	fh, _, errno := n.Operations().(gofs.NodeOpener).Open(ctx, syscall.O_RDONLY)
	if errno != 0 {
		t.Fatalf("open %s: %v", n.Path(nil), errno)
	}
	var all []byte
	for {
		res, errno := n.Operations().(gofs.NodeReader).Read(ctx, fh, make([]byte, 7), int64(len(all)))
		if errno != 0 {
			t.Fatalf("read %s: %v", n.Path(nil), errno)
		}
		b, _ := res.Bytes(nil)
		if len(b) == 0 {
			break
		}
		all = append(all, b...)
	}
	if rel, ok := fh.(gofs.FileReleaser); ok {
		rel.Release(ctx)
	}
	return all
}

func TestCheckpointJSON(t *testing.T) {
	tc := newTestCatalog()
	vols := func(disk io.ReaderAt, size int64, name string) ([]*guest.Volume, error) {
		return []*guest.Volume{
			{Name: name + "-p1", Number: 1, Start: 1024, Size: 4096, Table: "gpt", FSType: "unknown",
				Err: errors.New("no filesystem")},
			{Name: name + "-p2", Number: 2, Start: 8192, Size: 4096, Table: "gpt", FSType: "fat16",
				Label: "DATA", FS: guestFS()},
		}, nil
	}
	r := bridged(t, newRoot(tc.cat, tc.image, vols))
	cd := walk(t, r.EmbeddedInode(), "checkpoints", "Before update").Operations().(*checkpointDir)
	var out fuse.EntryOut
	js, errno := cd.Lookup(ctx, jsonName, &out)
	if errno != 0 {
		t.Fatal(errno)
	}
	data := readAll(t, js)
	if out.Size != uint64(len(data)) {
		t.Errorf("lookup size %d, content %d bytes", out.Size, len(data))
	}
	var got checkpointJSON
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if got.ID != "id-before" || got.Name != "Before update" || got.Live ||
		got.Created == nil || *got.Created != "2026-11-21T08:00:30Z" || got.Parent == nil || *got.Parent != "id-base" {
		t.Errorf("checkpoint.json header wrong:\n%s", data)
	}
	if len(got.Disks) != 1 || got.Disks[0].File != "Disk0_1.avhdx" || got.Disks[0].Size != 512<<10 ||
		got.Disks[0].Image != "disks/Disk0.raw" {
		t.Errorf("disks wrong:\n%s", data)
	}
	if len(got.Volumes) != 2 || got.Volumes[0].Dir != "" || got.Volumes[0].Error == "" ||
		got.Volumes[1].Dir != "Disk0-p2" || got.Volumes[1].FSType != "fat16" || got.Volumes[1].Label != "DATA" {
		t.Errorf("volumes wrong:\n%s", data)
	}
	if got := names(cd.EmbeddedInode()); !slices.Equal(got, []string{"Disk0-p2", "checkpoint.json", "disks", "volumes"}) {
		t.Errorf("checkpoint dir = %q", got)
	}
	now := walk(t, r.EmbeddedInode(), "checkpoints", "Now").Operations().(*checkpointDir)
	if _, errno := now.Lookup(ctx, jsonName, &out); errno != 0 {
		t.Fatal(errno)
	}
	var nowJS checkpointJSON
	if err := json.Unmarshal(readAll(t, now.GetChild(jsonName)), &nowJS); err != nil || nowJS.Created != nil || !nowJS.Live {
		t.Errorf("Now: created %v live %v err %v", nowJS.Created, nowJS.Live, err)
	}
}

// TestVolumeRawFiles: volumes/ holds every volume with bytes: a window
// of the disk with the disk's extents (SEEK_DATA/SEEK_HOLE, st_blocks), a
// remapped volume as all data; a shadow copy's files are in shadows/.
func TestVolumeRawFiles(t *testing.T) {
	tc := newTestCatalog()
	const k = 1024
	created := time.Date(2020, 7, 25, 12, 26, 4, 0, time.UTC)
	vols := func(disk io.ReaderAt, size int64, name string) ([]*guest.Volume, error) {
		p2 := &guest.Volume{Name: name + "-p2", Number: 2, Start: 128 * k, Size: 128 * k, Table: "gpt",
			FSType: "fat16", FS: guestFS(), Reader: io.NewSectionReader(disk, 128*k, 128*k)}
		lv := &guest.Volume{Name: name + "-p2-vg-lv", Number: 2, Start: 128 * k, Size: 16 * k, FSType: "unknown",
			Remapped: true, Reader: io.NewSectionReader(disk, 200*k, 16*k), Err: errors.New("no filesystem")}
		shadow := &guest.Volume{Name: guest.ShadowName(p2.Name, created), Number: 2, Start: 128 * k, Size: 128 * k,
			FSType: "fat16", FS: guestFS(), Reader: p2.Reader, Remapped: true, ShadowOf: p2.Name, Created: created,
			Layers: []string{"vss"}}
		return []*guest.Volume{p2, lv, shadow, {Name: name + "-p3", Number: 3, Err: errors.New("past the end")}}, nil
	}
	r := bridged(t, newRoot(tc.cat, tc.image, vols))
	cd := walk(t, r.EmbeddedInode(), "checkpoints", "Before update").Operations().(*checkpointDir)
	var out fuse.EntryOut
	if _, errno := cd.Lookup(ctx, "volumes", &out); errno != 0 {
		t.Fatal(errno)
	}
	if got := names(cd.EmbeddedInode()); !slices.Equal(got, []string{"Disk0-p2", "checkpoint.json", "disks", "shadows", "volumes"}) {
		t.Errorf("checkpoint dir = %q", got)
	}
	if got := names(walk(t, cd.EmbeddedInode(), "shadows")); !slices.Equal(got, []string{"Disk0-p2@2020-07-25T12.26.04"}) {
		t.Errorf("shadows = %q", got)
	}
	volDir := walk(t, cd.EmbeddedInode(), "volumes")
	if got := names(volDir); !slices.Equal(got, []string{"Disk0-p2-vg-lv.raw", "Disk0-p2.raw", "Disk0-p2@2020-07-25T12.26.04.raw"}) {
		t.Fatalf("volumes = %q", got)
	}
	img := tc.images[tc.cat.VMs[0].Checkpoints[1].Disks[0]].(*memImage)
	raw := walk(t, volDir, "Disk0-p2.raw")
	if got := readAll(t, raw); !bytes.Equal(got, img.data[128*k:256*k]) {
		t.Errorf("Disk0-p2.raw: %d bytes, not the partition's", len(got))
	}
	seek := func(n *gofs.Inode, off int64, whence uint32) int64 {
		pos, errno := n.Operations().(gofs.NodeLseeker).Lseek(ctx, nil, uint64(off), whence)
		if errno == syscall.ENXIO {
			return -1
		}
		if errno != 0 {
			t.Fatalf("lseek: %v", errno)
		}
		return int64(pos)
	}
	// The disk: data 128-160 KiB, zero 160-192 KiB, data 192-256 KiB.
	for _, c := range [][3]int64{{0, 0, 32 * k}, {32 * k, 64 * k, 32 * k}, {64 * k, 64 * k, 128 * k}} {
		if d, h := seek(raw, c[0], seekData), seek(raw, c[0], seekHole); d != c[1] || h != c[2] {
			t.Errorf("Disk0-p2.raw at %d: data %d hole %d, want %d %d", c[0], d, h, c[1], c[2])
		}
	}
	var a fuse.AttrOut
	if raw.Operations().(gofs.NodeGetattrer).Getattr(ctx, nil, &a); a.Size != 128*k || a.Blocks != 96*2 {
		t.Errorf("Disk0-p2.raw: size %d, %d blocks", a.Size, a.Blocks)
	}
	lv := walk(t, volDir, "Disk0-p2-vg-lv.raw")
	if got := readAll(t, lv); !bytes.Equal(got, img.data[200*k:216*k]) {
		t.Errorf("remapped volume: %d bytes, not its reader's", len(got))
	}
	if d, h := seek(lv, 100, seekData), seek(lv, 100, seekHole); d != 100 || h != 16*k {
		t.Errorf("remapped volume: data %d hole %d", d, h)
	}
	var got checkpointJSON
	if err := json.Unmarshal(readAll(t, cd.GetChild(jsonName)), &got); err != nil || len(got.Volumes) != 4 {
		t.Fatalf("checkpoint.json: %+v %v", got, err)
	}
	if v := got.Volumes[2]; v.Dir != "shadows/Disk0-p2@2020-07-25T12.26.04" || v.ShadowOf != "Disk0-p2" ||
		v.Created == nil || *v.Created != "2020-07-25T12:26:04Z" || v.Raw != "volumes/Disk0-p2@2020-07-25T12.26.04.raw" {
		t.Errorf("shadow in checkpoint.json: %+v", v)
	}
	if got.Volumes[1].Raw != "volumes/Disk0-p2-vg-lv.raw" || got.Volumes[1].Dir != "" || got.Volumes[3].Raw != "" {
		t.Errorf("volumes in checkpoint.json: %+v", got.Volumes)
	}
}

func TestVolumePanicIsContained(t *testing.T) {
	tc := newTestCatalog()
	vols := func(io.ReaderAt, int64, string) ([]*guest.Volume, error) { panic("parser bug") }
	r := bridged(t, newRoot(tc.cat, tc.image, vols))
	cd := walk(t, r.EmbeddedInode(), "checkpoints", "Base").Operations().(*checkpointDir)
	if _, errno := cd.Readdir(ctx); errno != 0 {
		t.Fatalf("readdir after a panicking volume scan: %v", errno)
	}
	var got checkpointJSON
	js := cd.GetChild(jsonName)
	if err := json.Unmarshal(readAll(t, js), &got); err != nil || got.Disks[0].Error == "" {
		t.Errorf("disk error not reported: %+v %v", got.Disks, err)
	}
}

func TestToErrno(t *testing.T) {
	for _, c := range []struct {
		err  error
		want syscall.Errno
	}{
		{nil, 0},
		{fsErrNotExist(), syscall.ENOENT},
		{&vhdx.FormatError{Off: 1, What: "x"}, syscall.EIO},
		{vhdx.ErrChecksum, syscall.EIO},
		{vhdx.ErrUnsupported, syscall.EOPNOTSUPP},
		{errors.ErrUnsupported, syscall.EOPNOTSUPP},
		{context.Canceled, syscall.EINTR},
		{syscall.ENXIO, syscall.ENXIO},
		{io.ErrUnexpectedEOF, syscall.EIO},
		{errors.New("something else"), syscall.EIO},
	} {
		if got := toErrno(c.err); got != c.want {
			t.Errorf("toErrno(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func BenchmarkRawRead(b *testing.B) {
	tc := newTestCatalog()
	r := newRoot(tc.cat, tc.image, noVolumes)
	gofs.NewNodeFS(r, NodeOptions())
	rf := r.GetChild("checkpoints").GetChild("Base").GetChild("disks").GetChild("Disk0.raw").Operations().(*rawFile)
	buf := make([]byte, 128<<10)
	b.SetBytes(int64(len(buf)))
	for i := 0; b.Loop(); i++ {
		off := int64(i%4) * int64(len(buf))
		if _, errno := rf.Read(ctx, nil, buf, off); errno != 0 {
			b.Fatal(errno)
		}
	}
}

// TestLeftOutVolumeIsLogged: a volume whose filesystem fails to open has
// no directory; the mount's log says which and why.
func TestLeftOutVolumeIsLogged(t *testing.T) {
	var buf bytes.Buffer
	log.SetOutput(&buf)
	defer log.SetOutput(os.Stderr)
	tc := newTestCatalog()
	vols := func(io.ReaderAt, int64, string) ([]*guest.Volume, error) {
		return []*guest.Volume{{Name: "Disk0-p7", FSType: "ntfs", Err: errors.New("MFT record 0: torn (test)")}}, nil
	}
	r := bridged(t, newRoot(tc.cat, tc.image, vols))
	cd := walk(t, r.EmbeddedInode(), "checkpoints", "Base").Operations().(*checkpointDir)
	if _, errno := cd.Readdir(ctx); errno != 0 {
		t.Fatal(errno)
	}
	if got := buf.String(); !strings.Contains(got, "volume Disk0-p7 (ntfs) left out: MFT record 0: torn (test)") {
		t.Errorf("log: %q", got)
	}
}

// Checkpoints made within one second are named by time and checkpoint in
// by-time, not "(2)".
func TestByTimeSameSecond(t *testing.T) {
	tc := newTestCatalog()
	vm := tc.cat.VMs[0]
	vm.Checkpoints[2].Created = vm.Checkpoints[1].Created.Add(300 * time.Millisecond)
	r := bridged(t, newRoot(tc.cat, tc.image, noVolumes))
	bt := walk(t, r.EmbeddedInode(), "by-time")
	want := []string{"2026-11-20T10.15.00", "2026-11-21T08.00.30 Before update", "2026-11-21T08.00.30 Now"}
	if got := names(bt); !slices.Equal(got, want) {
		t.Errorf("by-time = %q, want %q", got, want)
	}
	if got := readlink(t, walk(t, bt, "2026-11-21T08.00.30 Now")); got != "../checkpoints/Now" {
		t.Errorf("link = %q", got)
	}
}

// TestOpenLatest: OpenLatest finds the volumes of each VM's newest
// checkpoint (of the first maxOpenedAhead VMs) once, in the background,
// and a look inside afterwards uses them without a second scan; older
// checkpoints are left for when something looks inside.
func TestOpenLatest(t *testing.T) {
	var cat *testCatalog
	for range maxOpenedAhead + 2 {
		tc := newTestCatalog()
		if cat == nil {
			cat = tc
			continue
		}
		cat.cat.VMs = append(cat.cat.VMs, tc.cat.VMs[0])
		maps.Copy(cat.images, tc.images)
	}
	var mu sync.Mutex
	scanned := map[io.ReaderAt]int{}
	vols := func(disk io.ReaderAt, size int64, name string) ([]*guest.Volume, error) {
		mu.Lock()
		scanned[disk]++
		mu.Unlock()
		return []*guest.Volume{{Name: name + "-p2", Number: 2, FSType: "ntfs", FS: guestFS()}}, nil
	}
	r := bridged(t, newRoot(cat.cat, cat.image, vols))
	r.OpenLatest()
	latest := map[io.ReaderAt]bool{}
	for _, vm := range cat.cat.VMs[:maxOpenedAhead] {
		latest[cat.images[vm.Latest().Disks[0]]] = true
	}
	count := func() (all, ofLatest int) {
		mu.Lock()
		defer mu.Unlock()
		for d, n := range scanned {
			all += n
			if latest[d] {
				ofLatest += n
			}
		}
		return all, ofLatest
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, n := count(); n == maxOpenedAhead {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("newest checkpoints not scanned after 10 s: %v", scanned)
		}
	}
	r.WaitOpened()
	time.Sleep(20 * time.Millisecond)
	if all, n := count(); all != maxOpenedAhead || n != maxOpenedAhead {
		t.Errorf("%d scans, %d of newest checkpoints, want %d of them only", all, n, maxOpenedAhead)
	}
	cd := walk(t, r.EmbeddedInode(), "web01", "checkpoints", "Now").Operations().(*checkpointDir)
	var out fuse.EntryOut
	if _, errno := cd.Lookup(ctx, "Disk0-p2", &out); errno != 0 {
		t.Fatalf("lookup of the volume opened ahead: %v", errno)
	}
	if all, _ := count(); all != maxOpenedAhead {
		t.Errorf("the volume opened ahead was scanned again (%d scans)", all)
	}
}
