//go:build linux

package fs

import (
	"bytes"
	"io"
	iofs "io/fs"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ckptfs/ckptfs/guest"
	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

func fsErrNotExist() error { return iofs.ErrNotExist }

// ntfsSys is what an NTFS FileInfo.Sys() offers through the optional
// interfaces of the guest contract.
type ntfsSys struct {
	id      uint64
	attrs   uint32
	crtime  time.Time
	atime   time.Time
	ctime   time.Time
	nlink   int
	streams []string
}

func (s ntfsSys) FileID() uint64            { return s.id }
func (s ntfsSys) WindowsAttributes() uint32 { return s.attrs }
func (s ntfsSys) CreationTime() time.Time   { return s.crtime }
func (s ntfsSys) AccessTime() time.Time     { return s.atime }
func (s ntfsSys) ChangeTime() time.Time     { return s.ctime }
func (s ntfsSys) LinkCount() int            { return s.nlink }
func (s ntfsSys) StreamNames() []string     { return s.streams }

var (
	_ guest.FileIdentity      = ntfsSys{}
	_ guest.WindowsAttributer = ntfsSys{}
	_ guest.CreationTimer     = ntfsSys{}
	_ guest.AccessTimer       = ntfsSys{}
	_ guest.ChangeTimer       = ntfsSys{}
	_ guest.LinkCounter       = ntfsSys{}
	_ guest.StreamLister      = ntfsSys{}
)

// streamFS adds alternate data streams to a MapFS.
type streamFS struct {
	fstest.MapFS
	streams map[string][]byte // "path:stream"
}

var _ guest.StreamFS = streamFS{}

func (s streamFS) OpenStream(name, stream string) (iofs.File, error) {
	data, ok := s.streams[name+":"+stream]
	if !ok {
		return nil, iofs.ErrNotExist
	}
	return fstest.MapFS{"s": {Data: data}}.Open("s")
}

var (
	tMod    = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tCreate = time.Date(2024, 6, 1, 12, 0, 0, 123456789, time.UTC)
	tAccess = time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	tChange = time.Date(2025, 1, 3, 0, 0, 0, 0, time.UTC)
)

const zoneID = "[ZoneTransfer]\r\nZoneId=3\r\n"

func guestFS() iofs.FS {
	hello := ntfsSys{id: 10, attrs: 0x21, crtime: tCreate, atime: tAccess, ctime: tChange, nlink: 2,
		streams: []string{"Zone.Identifier", "ckptfs.attributes"}}
	return streamFS{
		MapFS: fstest.MapFS{
			"hello.txt":            {Data: []byte("hello world"), Mode: 0o444, ModTime: tMod, Sys: hello}, // read-only (attrs 0x21)
			"dir/hardlink.txt":     {Data: []byte("hello world"), Mode: 0o444, ModTime: tMod, Sys: hello},
			"dir/other.txt":        {Data: []byte("other"), Mode: 0o644, ModTime: tMod, Sys: ntfsSys{id: 11, nlink: 1}},
			"dir/sub/abs-link":     {Data: []byte(`\??\C:\dir\hardlink.txt`), Mode: iofs.ModeSymlink, Sys: ntfsSys{id: 12}},
			"dir/escape":           {Data: []byte(`..\..\..\etc`), Mode: iofs.ModeSymlink, Sys: ntfsSys{id: 13}},
			"big":                  {Data: []byte("x"), Sys: ntfsSys{id: 14, streams: []string{"huge"}}},
			"empty":                {Mode: iofs.ModeDir | 0o755},
			"Program Files/a b.dl": {Data: bytes.Repeat([]byte{0xab}, 100_000)},
		},
		streams: map[string][]byte{
			"hello.txt:Zone.Identifier": []byte(zoneID),
			"big:huge":                  bytes.Repeat([]byte{1}, maxXattr+1),
		},
	}
}

// guestTree mounts guestFS as volume Disk0-p2 of every checkpoint and
// returns the Before update checkpoint's volume root.
func guestTree(t *testing.T) (*Root, *gofs.Inode) {
	t.Helper()
	tc := newTestCatalog()
	vols := func(disk io.ReaderAt, size int64, name string) ([]*guest.Volume, error) {
		return []*guest.Volume{{Name: name + "-p2", Number: 2, FSType: "ntfs", FS: guestFS()}}, nil
	}
	r := bridged(t, newRoot(tc.cat, tc.image, vols))
	cd := walk(t, r.EmbeddedInode(), "checkpoints", "Before update").Operations().(*checkpointDir)
	var out fuse.EntryOut
	vol, errno := cd.Lookup(ctx, "Disk0-p2", &out)
	if errno != 0 {
		t.Fatalf("lookup volume: %v", errno)
	}
	if out.Mode != modeDir {
		t.Errorf("volume root mode %o", out.Mode)
	}
	return r, vol
}

// lookup follows a slash path with Lookup calls, as the kernel would.
func lookup(t *testing.T, n *gofs.Inode, p string) (*gofs.Inode, fuse.EntryOut) {
	t.Helper()
	var out fuse.EntryOut
	for _, name := range strings.Split(p, "/") {
		var errno syscall.Errno
		n, errno = n.Operations().(gofs.NodeLookuper).Lookup(ctx, name, &out)
		if errno != 0 {
			t.Fatalf("lookup %q in %s: %v", name, p, errno)
		}
	}
	return n, out
}

func TestGuestReaddir(t *testing.T) {
	_, vol := guestTree(t)
	ds, errno := vol.Operations().(gofs.NodeReaddirer).Readdir(ctx)
	if errno != 0 {
		t.Fatal(errno)
	}
	var got []string
	for ds.HasNext() {
		e, _ := ds.Next()
		got = append(got, e.Name)
		if e.Ino == 0 {
			t.Errorf("%s: inode 0 (glibc hides such entries)", e.Name)
		}
	}
	want := []string{".", "..", "Program Files", "big", "dir", "empty", "hello.txt"}
	if !slices.Equal(got, want) {
		t.Errorf("readdir = %q, want %q", got, want)
	}
	var out fuse.EntryOut
	if _, errno := vol.Operations().(gofs.NodeLookuper).Lookup(ctx, "missing", &out); errno != syscall.ENOENT {
		t.Errorf("lookup missing: %v", errno)
	}
}

func TestGuestFileAttrAndRead(t *testing.T) {
	_, vol := guestTree(t)
	n, out := lookup(t, vol, "hello.txt")
	if out.Size != 11 || out.Mode != modeFile || out.Nlink != 2 {
		t.Errorf("attr size %d mode %o nlink %d", out.Size, out.Mode, out.Nlink)
	}
	if out.Mtime != uint64(tMod.Unix()) || out.Atime != uint64(tAccess.Unix()) || out.Ctime != uint64(tChange.Unix()) {
		t.Errorf("times m %d a %d c %d", out.Mtime, out.Atime, out.Ctime)
	}
	if got := readAll(t, n); string(got) != "hello world" {
		t.Errorf("content %q", got)
	}
	big, _ := lookup(t, vol, "Program Files/a b.dl")
	if got := readAll(t, big); len(got) != 100_000 || got[99_999] != 0xab {
		t.Errorf("big file: %d bytes", len(got))
	}
	if _, _, errno := n.Operations().(gofs.NodeOpener).Open(ctx, syscall.O_WRONLY); errno != syscall.EROFS {
		t.Errorf("open for writing: %v", errno)
	}
	_, dout := lookup(t, vol, "empty")
	if dout.Mode != syscall.S_IFDIR|0o755 {
		t.Errorf("dir mode %o, want the guest's 755", dout.Mode)
	}
	// The guest's bits: a file that is not read-only is writable in its mode
	// (the mount itself refuses writes), so `cp -a` keeps it so.
	if _, oout := lookup(t, vol, "dir/other.txt"); oout.Mode != syscall.S_IFREG|0o644 {
		t.Errorf("other.txt mode %o, want 644", oout.Mode)
	}
	// No bits at all (a filesystem that keeps none) reads as read-only.
	if _, bout := lookup(t, vol, "Program Files/a b.dl"); bout.Mode != modeFile {
		t.Errorf("a b.dl mode %o, want %o", bout.Mode, modeFile)
	}
}

func TestGuestHardLinks(t *testing.T) {
	r, vol := guestTree(t)
	a, _ := lookup(t, vol, "hello.txt")
	b, _ := lookup(t, vol, "dir/hardlink.txt")
	c, _ := lookup(t, vol, "dir/other.txt")
	// go-fuse merges nodes of one inode number when it adds them to the
	// tree; the mount test sees one inode through stat.
	if a.StableAttr().Ino != b.StableAttr().Ino {
		t.Errorf("hard links are different inodes: %d %d", a.StableAttr().Ino, b.StableAttr().Ino)
	}
	if a.StableAttr().Ino == c.StableAttr().Ino {
		t.Error("different files share an inode")
	}
	// The same file in another checkpoint is another inode: its content
	// may differ, and the kernel caches pages per inode.
	cd := walk(t, r.EmbeddedInode(), "checkpoints", "Base").Operations().(*checkpointDir)
	var out fuse.EntryOut
	vol2, errno := cd.Lookup(ctx, "Disk0-p2", &out)
	if errno != 0 {
		t.Fatal(errno)
	}
	if a2, _ := lookup(t, vol2, "hello.txt"); a2.StableAttr().Ino == a.StableAttr().Ino {
		t.Error("same inode in two checkpoints")
	}
}

func TestGuestSymlinks(t *testing.T) {
	_, vol := guestTree(t)
	for p, want := range map[string]string{
		"dir/sub/abs-link": "../../dir/hardlink.txt",
		"dir/escape":       "../etc",
	} {
		n, out := lookup(t, vol, p)
		if out.Mode != modeLink || out.Size != uint64(len(want)) {
			t.Errorf("%s: mode %o size %d", p, out.Mode, out.Size)
		}
		if got := readlink(t, n); got != want {
			t.Errorf("%s -> %q, want %q", p, got, want)
		}
	}
}

func getxattr(n *gofs.Inode, name string) (string, syscall.Errno) {
	x := n.Operations().(gofs.NodeGetxattrer)
	size, errno := x.Getxattr(ctx, name, nil)
	if errno != syscall.ERANGE && errno != 0 {
		return "", errno
	}
	buf := make([]byte, size)
	got, errno := x.Getxattr(ctx, name, buf)
	return string(buf[:got]), errno
}

func TestGuestXattrs(t *testing.T) {
	r, vol := guestTree(t)
	n, _ := lookup(t, vol, "hello.txt")
	lx := n.Operations().(gofs.NodeListxattrer)
	size, _ := lx.Listxattr(ctx, nil)
	buf := make([]byte, size)
	got, errno := lx.Listxattr(ctx, buf)
	if errno != 0 {
		t.Fatal(errno)
	}
	list := strings.Split(strings.TrimSuffix(string(buf[:got]), "\x00"), "\x00")
	want := []string{"user.ckptfs.attributes", "user.ckptfs.crtime", "user.Zone.Identifier"}
	if !slices.Equal(list, want) {
		t.Errorf("listxattr = %q, want %q", list, want)
	}
	for name, want := range map[string]string{
		"user.ckptfs.attributes": "0x00000021",
		"user.ckptfs.crtime":     "2024-06-01T12:00:00.123456789Z",
		"user.Zone.Identifier":   zoneID,
	} {
		if got, errno := getxattr(n, name); errno != 0 || got != want {
			t.Errorf("%s = %q, %v; want %q", name, got, errno, want)
		}
	}
	for _, name := range []string{"user.missing", "user.ckptfs.attributes.x"} {
		if _, errno := getxattr(n, name); errno != syscall.ENODATA {
			t.Errorf("%s: %v, want ENODATA", name, errno)
		}
	}
	// NTFS has no Linux-only namespaces: not supported, as the kernel says
	// of a namespace without a handler (then `ls -l` stops asking).
	for _, name := range []string{"security.selinux", "system.posix_acl_access", "system.posix_acl_default", "trusted.x"} {
		if _, errno := getxattr(n, name); errno != syscall.EOPNOTSUPP {
			t.Errorf("%s: %v, want EOPNOTSUPP", name, errno)
		}
	}
	// While the kernel checks ACLs (-o default_permissions), a missing one
	// is ENODATA: EOPNOTSUPP would refuse the access it was fetched for.
	r.SetKernelACLs(true)
	for name, want := range map[string]syscall.Errno{"system.posix_acl_access": syscall.ENODATA,
		"system.posix_acl_default": syscall.ENODATA, "security.selinux": syscall.EOPNOTSUPP} {
		if _, errno := getxattr(n, name); errno != want {
			t.Errorf("kernel ACLs: %s: %v, want %v", name, errno, want)
		}
	}
	big, _ := lookup(t, vol, "big")
	if _, errno := getxattr(big, "user.huge"); errno != syscall.E2BIG {
		t.Errorf("huge stream: %v, want E2BIG", errno)
	}
	plain, _ := lookup(t, vol, "Program Files")
	if size, errno := plain.Operations().(gofs.NodeListxattrer).Listxattr(ctx, nil); size != 0 || errno != 0 {
		t.Errorf("plain dir has xattrs: %d %v", size, errno)
	}
}

// TestGuestNoOpen: with opens skipped (Root.SetNoOpen), OPEN and FLUSH are
// answered ENOSYS (the kernel then sends neither again) and reads without
// a handle go through the node's shared one, which is closed once a read
// reaches the end of the file and reopened by the next read.
func TestGuestNoOpen(t *testing.T) {
	r, vol := guestTree(t)
	r.SetNoOpen(true)
	n, _ := lookup(t, vol, "Program Files/a b.dl")
	g := n.Operations().(*guestFile)
	if _, _, errno := g.Open(ctx, syscall.O_RDONLY); errno != syscall.ENOSYS {
		t.Errorf("open: %v, want ENOSYS", errno)
	}
	if _, _, errno := g.Open(ctx, syscall.O_WRONLY); errno != syscall.EROFS {
		t.Errorf("open for writing: %v, want EROFS", errno)
	}
	if errno := g.Flush(ctx, nil); errno != syscall.ENOSYS {
		t.Errorf("flush: %v, want ENOSYS", errno)
	}
	for pass := 0; pass < 2; pass++ {
		var all []byte
		for {
			res, errno := g.Read(ctx, nil, make([]byte, 30_000), int64(len(all)))
			if errno != 0 {
				t.Fatalf("read at %d: %v", len(all), errno)
			}
			b, _ := res.Bytes(nil)
			if len(b) == 0 {
				break
			}
			all = append(all, b...)
			if len(all) < 100_000 && g.shared == nil {
				t.Fatalf("shared handle closed at %d of 100,000 bytes", len(all))
			}
		}
		if len(all) != 100_000 || all[99_999] != 0xab {
			t.Fatalf("pass %d: %d bytes", pass, len(all))
		}
		if g.shared != nil || g.users != 0 {
			t.Errorf("pass %d: shared handle kept after the end (users %d)", pass, g.users)
		}
	}
	// A read in the middle keeps it until the kernel forgets the file.
	if _, errno := g.Read(ctx, nil, make([]byte, 10), 0); errno != 0 || g.shared == nil {
		t.Fatalf("read: %v, shared %v", errno, g.shared != nil)
	}
	g.OnForget()
	if g.shared != nil {
		t.Error("shared handle kept after OnForget")
	}
	// Opened handles work as before when opens are not skipped.
	r.SetNoOpen(false)
	if got := readAll(t, n); len(got) != 100_000 {
		t.Errorf("with a handle: %d bytes", len(got))
	}
}
