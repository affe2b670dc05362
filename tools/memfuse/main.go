// Command memfuse mounts a directory holding one file served from memory
// by go-fuse: the ceiling a FUSE file system can reach on this machine,
// which `make bench` compares ckptfs's raw images against.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/signal"
	"syscall"

	"github.com/ckptfs/ckptfs/mount"
	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

type root struct {
	gofs.Inode
	data []byte
}

func (r *root) OnAdd(ctx context.Context) {
	f := &gofs.MemRegularFile{Data: r.data, Attr: fuse.Attr{Mode: 0o444}}
	r.AddChild("data", r.NewPersistentInode(ctx, f, gofs.StableAttr{}), false)
}

var _ = (gofs.NodeOnAdder)((*root)(nil))

func main() {
	size := flag.Int64("size", 1<<30, "bytes in the file")
	readAhead := flag.Int("read-ahead-kb", 0, "kernel read-ahead window of the mount in KiB, as ckptfs mount sets it (0: the kernel's)")
	flag.Parse()
	data := make([]byte, *size)
	rand.New(rand.NewSource(1)).Read(data[:1<<20])
	for o := int64(1 << 20); o < *size; o += 1 << 20 {
		copy(data[o:], data[:1<<20])
	}
	opts := &gofs.Options{MountOptions: fuse.MountOptions{MaxWrite: 1 << 20, MaxReadAhead: 1 << 20, FsName: "memfuse", DisableSplice: true}}
	server, err := gofs.Mount(flag.Arg(0), &root{data: data}, opts)
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
