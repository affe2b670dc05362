// Command memfuse mounts a directory holding one file served from memory
// by go-fuse: the ceiling a FUSE file system can reach on this machine,
// which `make bench` compares ckptfs's raw images against. With -files N
// it also holds a folder "many" of N empty files whose extended attributes
// are all absent: the floor of a walk of that many entries (`ls -l`), each
// request answered from memory with ckptfs's mount options.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ckptfs/ckptfs/mount"
	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

type root struct {
	gofs.Inode
	data  []byte
	files int
}

func (r *root) OnAdd(ctx context.Context) {
	f := &gofs.MemRegularFile{Data: r.data, Attr: fuse.Attr{Mode: 0o444}}
	r.AddChild("data", r.NewPersistentInode(ctx, f, gofs.StableAttr{}), false)
	if r.files == 0 {
		return
	}
	many := &manyDir{index: make(map[string]uint64, r.files)}
	for i := 0; i < r.files; i++ {
		name := fmt.Sprintf("f%06d", i)
		many.names = append(many.names, name)
		many.index[name] = uint64(i + 2)
	}
	r.AddChild("many", r.NewPersistentInode(ctx, many, gofs.StableAttr{Mode: syscall.S_IFDIR}), false)
}

// manyDir lists and looks up its files from a slice and a map, as a file
// system that holds its folder in memory would (go-fuse's own child map is
// listed sorted on each READDIR call, which for 100,000 names is the cost).
type manyDir struct {
	gofs.Inode
	names []string
	index map[string]uint64
}

func (d *manyDir) Readdir(context.Context) (gofs.DirStream, syscall.Errno) {
	entries := make([]fuse.DirEntry, len(d.names))
	for i, name := range d.names {
		entries[i] = fuse.DirEntry{Name: name, Mode: syscall.S_IFREG, Ino: uint64(i + 2)}
	}
	return gofs.NewListDirStream(entries), 0
}

func (d *manyDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	ino, ok := d.index[name]
	if !ok {
		return nil, syscall.ENOENT
	}
	out.Mode = syscall.S_IFREG | 0o644
	out.Ino = ino
	return d.NewInode(ctx, &emptyFile{}, gofs.StableAttr{Ino: ino}), 0
}

var (
	_ = (gofs.NodeReaddirer)((*manyDir)(nil))
	_ = (gofs.NodeLookuper)((*manyDir)(nil))
)

// emptyFile is a 0644 file of no bytes and no extended attributes.
type emptyFile struct{ gofs.Inode }

func (*emptyFile) Getattr(_ context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFREG | 0o644
	return 0
}

func (*emptyFile) Getxattr(context.Context, string, []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENODATA
}

var (
	_ = (gofs.NodeGetattrer)((*emptyFile)(nil))
	_ = (gofs.NodeGetxattrer)((*emptyFile)(nil))
)

var _ = (gofs.NodeOnAdder)((*root)(nil))

func main() {
	size := flag.Int64("size", 1<<30, "bytes in the file")
	files := flag.Int("files", 0, "empty files in the folder \"many\" (0: no folder)")
	readAhead := flag.Int("read-ahead-kb", 0, "kernel read-ahead window of the mount in KiB, as ckptfs mount sets it (0: the kernel's)")
	flag.Parse()
	data := make([]byte, *size)
	rand.New(rand.NewSource(1)).Read(data[:min(*size, 1<<20)])
	for o := int64(1 << 20); o < *size; o += 1 << 20 {
		copy(data[o:], data[:1<<20])
	}
	// ckptfs's timeouts and listing mode (fs.NodeOptions, mount/run.go),
	// so that a walk of "many" makes the requests it makes on ckptfs.
	timeout := 24 * time.Hour
	opts := &gofs.Options{
		EntryTimeout: &timeout, AttrTimeout: &timeout, NegativeTimeout: &timeout,
		MountOptions: fuse.MountOptions{MaxWrite: 1 << 20, MaxReadAhead: 1 << 20, FsName: "memfuse", DisableSplice: true,
			ExtraCapabilities: fuse.CAP_READDIRPLUS_AUTO},
	}
	server, err := gofs.Mount(flag.Arg(0), &root{data: data, files: *files}, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *readAhead > 0 {
		if err := mount.SetReadAhead(flag.Arg(0), *readAhead); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	go func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, os.Interrupt, syscall.SIGTERM)
		<-c
		server.Unmount()
	}()
	server.Wait()
}
